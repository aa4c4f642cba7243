/** Assertions in the @std/assert style (JSR is unreachable here), built on node:assert. */
import assert from "node:assert/strict";

export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  assert.deepStrictEqual(actual, expected, message);
}

export function assert_(condition: unknown, message?: string): asserts condition {
  assert.ok(condition, message);
}
export { assert_ as assert };

export function assertStringIncludes(actual: string, expected: string, message?: string): void {
  if (!actual.includes(expected)) {
    throw new assert.AssertionError({
      message: message ?? `expected to find ${JSON.stringify(expected)} in:\n${actual}`,
      actual,
      expected,
    });
  }
}

export function assertMatch(actual: string, pattern: RegExp, message?: string): void {
  assert.match(actual, pattern, message);
}

// deno-lint-ignore no-explicit-any
type ErrorClass = new (...args: any[]) => Error;

function checkError(error: unknown, errorClass?: ErrorClass, includes?: string): Error {
  if (errorClass && !(error instanceof errorClass)) {
    throw new assert.AssertionError({
      message: `expected ${errorClass.name}, got ${String(error)}`,
    });
  }
  if (includes && !(error instanceof Error && error.message.includes(includes))) {
    throw new assert.AssertionError({
      message: `expected message to include ${JSON.stringify(includes)}, got ${String(error)}`,
    });
  }
  return error as Error;
}

/** Asserts that `fn` throws an instance of `errorClass` whose message includes `includes`. */
export function assertThrows(fn: () => unknown, errorClass?: ErrorClass, includes?: string): Error {
  try {
    fn();
  } catch (error) {
    return checkError(error, errorClass, includes);
  }
  throw new assert.AssertionError({ message: "expected the function to throw" });
}

/** Async form of assertThrows. */
export async function assertRejects(
  fn: () => Promise<unknown>,
  errorClass?: ErrorClass,
  includes?: string,
): Promise<Error> {
  try {
    await fn();
  } catch (error) {
    return checkError(error, errorClass, includes);
  }
  throw new assert.AssertionError({ message: "expected the promise to reject" });
}
