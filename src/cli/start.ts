/** `flowctl start`: starts components of a running pipeline through its admin socket. */
import { controlCommand } from "./_control.ts";

export const startCommand = controlCommand("start");
