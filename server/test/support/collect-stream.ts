/**
 * A streaming answer's text as it arrives (server-sent events, for the streaming and MCP tests):
 * `text()` is what came so far, `ended` resolves when the body ends or the request is aborted
 * (an abort is how these tests stop reading, so it is not an error).
 */
export interface CollectedStream {
  text(): string;
  ended: Promise<void>;
}

export function collectStream(res: Response): CollectedStream {
  let text = '';
  const ended = (async () => {
    if (!res.body) return;
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        text += Buffer.from(value).toString('utf8');
      }
    } catch {
      // aborted by the test: what came so far is the answer
    }
  })();
  return { text: () => text, ended };
}
