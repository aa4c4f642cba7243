/** The dashboard's access token: random, URL-safe, compared in constant time. */

/** 24 URL-safe characters (144 random bits). */
export function newToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_");
}

/** Whether `given` is `token`, taking the same time for every wrong guess of the same length. */
export function tokenMatches(given: string, token: string): boolean {
  if (given.length !== token.length) return false;
  let difference = 0;
  for (let i = 0; i < token.length; i++) difference |= given.charCodeAt(i) ^ token.charCodeAt(i);
  return difference === 0;
}
