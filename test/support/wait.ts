/**
 * Waiting on conditions in tests without fixed sleeps: `waitFor` re-checks
 * after each turn of the event loop's timers phase (setImmediate, then a
 * short timer only when nothing else is pending) and fails with what it
 * waited for once the bound passes.
 */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  // Bounded: each pass yields to the event loop; the deadline ends it.
  for (;;) {
    if (await condition()) return;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
