/** `flowctl restart`: restarts components of a running pipeline through its admin socket. */
import { controlCommand } from "./_control.ts";

export const restartCommand = controlCommand("restart");
