/** Exit codes (DESIGN §8). */
export const ExitCode = { ok: 0, failure: 1, usage: 2, forced: 130 } as const;
