// @anvil/server: repository loading, lint, build, release, policy, webhooks, store, push queue
// and the `anvil` CLI arrive here (issues 3, 5, 6). DESIGN.md §3 lists what it holds.
export {};
