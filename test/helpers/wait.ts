/** Poll `fn` every `stepMs` until it returns something truthy; bounded in time and count.
 *  On timeout the error names what was awaited, the last value, and `detail()` (e.g. an agent log). */
export async function waitUntil<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 20000, stepMs = 100, detail?: () => string): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  let last: T | undefined;
  for (let i = 0; i < Math.ceil(timeoutMs / stepMs) + 1; i++) {
    last = await fn();
    if (last) return last as NonNullable<T>;
    if (Date.now() > end) break;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})${detail ? `\n${detail()}` : ''}`);
}
