/** Polls `check` until it answers true; throws after `timeoutMs` (changes that arrive over pub/sub, sweepers). */
export async function waitFor(check: () => Promise<boolean>, timeoutMs = 3_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Retries an assertion until it passes; after `timeoutMs` its last failure is thrown. */
export async function eventually(assertion: () => Promise<void>, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await assertion();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
