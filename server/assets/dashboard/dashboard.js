// The dashboard's one script (issue 15): copy buttons. Served as a file because the pages'
// Content-Security-Policy allows no inline script.
document.addEventListener('click', (event) => {
  const button = event.target instanceof Element ? event.target.closest('button[data-copy]') : null;
  if (!button) return;
  const input = document.getElementById(button.getAttribute('data-copy'));
  if (!input) return;
  const done = () => { button.textContent = 'Copied'; };
  input.select();
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(input.value).then(done, () => { if (document.execCommand('copy')) done(); });
  } else if (document.execCommand('copy')) {
    done();
  }
});

// "Publish to LIVE" progress: the table follows the forge's server-sent events, one per change
// of a receiver's delivery, and a last one with the result. Text only (textContent), never
// markup: receiver ids and answers come from outside.
const progress = document.querySelector('table[data-events]');
if (progress && 'EventSource' in window) {
  const body = progress.tBodies[0];
  const result = document.getElementById('result');
  const source = new EventSource(progress.getAttribute('data-events'));
  const cell = (row, name) => row.querySelector(`[data-field="${name}"]`);
  const rowFor = (id) => {
    for (const row of body.rows) if (row.getAttribute('data-instance') === id) return row;
    const row = body.insertRow();
    row.setAttribute('data-instance', id);
    const th = document.createElement('th');
    th.scope = 'row';
    th.className = 'mono';
    th.textContent = id;
    row.appendChild(th);
    const state = document.createElement('span');
    state.setAttribute('data-field', 'state');
    row.insertCell().appendChild(state);
    row.insertCell().setAttribute('data-field', 'attempts');
    const answer = row.insertCell();
    answer.className = 'detail';
    answer.setAttribute('data-field', 'answer');
    return row;
  };
  source.addEventListener('delivery', (event) => {
    const d = JSON.parse(event.data);
    const row = rowFor(d.instanceId);
    const state = cell(row, 'state');
    state.textContent = d.state;
    state.className = `badge delivery-${d.state}`;
    cell(row, 'attempts').textContent = String(d.attempts);
    cell(row, 'answer').textContent = d.answer;
  });
  source.addEventListener('done', (event) => {
    source.close();
    if (result) result.textContent = JSON.parse(event.data).result;
    progress.setAttribute('data-done', 'true');
  });
  // A dropped stream reconnects by itself; a refused one (signed out) stops.
  source.addEventListener('error', () => {
    if (source.readyState === EventSource.CLOSED && result) result.textContent = 'Lost the connection to the forge; reload to see the latest state.';
  });
}
