/** The error of everything that can go wrong fetching an image: printed as one line, exit 1. */
import { UserError } from "../user_error.ts";

/** The longest message kept: a registry's text beyond this adds nothing for the user. */
const MAX_MESSAGE_CHARS = 2000;

/**
 * A registry refused, was unreachable, or sent something wrong; names the image reference. The
 * message may quote what a registry sent, so control characters (escape sequences that would
 * drive the terminal) are shown escaped, and it is cut at 2000 characters.
 */
export class RegistryError extends UserError {
  override name = "RegistryError";
  readonly reference: string;
  constructor(reference: string, message: string, options?: ErrorOptions) {
    super(escapeControl(`image "${reference}": ${message}`), options);
    this.reference = reference;
  }
}

/** `text` with C0/C1 control characters and DEL as `\xNN` (or `\u{NNNN}`), cut to one line. */
export function escapeControl(text: string): string {
  let escaped = "";
  for (const c of text) {
    const code = c.codePointAt(0) ?? 0;
    const control = code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 ||
      code === 0x2029;
    if (!control) escaped += c;
    else if (code <= 0xff) escaped += `\\x${code.toString(16).padStart(2, "0")}`;
    else escaped += `\\u{${code.toString(16)}}`;
    if (escaped.length > MAX_MESSAGE_CHARS) return `${escaped.slice(0, MAX_MESSAGE_CHARS)}… (cut)`;
  }
  return escaped;
}
