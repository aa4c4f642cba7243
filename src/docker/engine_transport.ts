/**
 * The HTTP transport to one engine endpoint (a unix socket, tcp with or without TLS, or ssh
 * through a local bridge), and the first request on it, `/_ping`, whose failure is told in one
 * line: nothing answers (exit 1), or the setup is wrong (certificates, TLS, ssh login: exit 2).
 */
import type { EngineEndpoint } from "./engine_endpoint.ts";
import { DockerUnavailableError, EngineSetupError } from "./docker_errors.ts";
import { SshBridge } from "./ssh_bridge.ts";

/** An open transport: the URL base to prefix paths with, and the client to send them through. */
export interface EngineTransport extends Disposable {
  readonly endpoint: EngineEndpoint;
  readonly base: string;
  readonly client: Deno.HttpClient | undefined;
  /** Over ssh: why the last ssh failed, once the connections in flight have ended. */
  readonly sshFailure?: () => Promise<string | undefined>;
}

/** Opens the transport to `endpoint`; nothing is sent yet. */
export async function openTransport(endpoint: EngineEndpoint): Promise<EngineTransport> {
  if (endpoint.kind === "tcp") {
    const tls = endpoint.tls;
    const client = tls
      ? Deno.createHttpClient({
        ...(tls.caCert ? { caCerts: [tls.caCert] } : {}),
        ...(tls.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
      })
      : undefined;
    return {
      endpoint,
      base: `${tls ? "https" : "http"}://${endpoint.authority}`,
      client,
      [Symbol.dispose]: () => client?.close(),
    };
  }
  const bridge = endpoint.kind === "ssh" ? await SshBridge.open(endpoint) : undefined;
  const path = bridge?.socketPath ?? (endpoint.kind === "unix" ? endpoint.path : "");
  const client = Deno.createHttpClient({ proxy: { transport: "unix", path } });
  return {
    endpoint,
    // An address literal: a host name here would be looked up in DNS before the socket is used.
    base: "http://127.0.0.1",
    client,
    [Symbol.dispose]: () => {
      client.close();
      bridge?.[Symbol.dispose]();
    },
    ...(bridge ? { sshFailure: () => bridge.failure() } : {}),
  };
}

/**
 * Pings the engine and returns the API version it speaks.
 * @throws {DockerUnavailableError} when nothing answers.
 * @throws {EngineSetupError} when TLS or ssh is set up wrong for this engine.
 */
export async function pingEngine(transport: EngineTransport): Promise<string> {
  const { endpoint } = transport;
  let response: Response;
  try {
    response = await fetch(
      `${transport.base}/_ping`,
      { client: transport.client, signal: AbortSignal.timeout(10_000) } as RequestInit,
    );
  } catch (error) {
    throw await pingFailure(transport, error);
  }
  const text = await response.text();
  if (response.status === 400 && /HTTPS server/i.test(text)) {
    throw new EngineSetupError(
      `The Docker engine at ${endpoint.host} (${endpoint.source}) speaks TLS: set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to the folder holding ca.pem, cert.pem and key.pem, or use a Docker context made with them`,
    );
  }
  if (!response.ok) {
    throw new DockerUnavailableError(
      endpoint.host,
      `_ping answered ${response.status}${text.trim() ? ` (${text.trim().slice(0, 200)})` : ""}`,
    );
  }
  return response.headers.get("api-version") ?? "";
}

async function pingFailure(transport: EngineTransport, error: unknown): Promise<Error> {
  const { endpoint } = transport;
  const reason = firstLine(error);
  const where = `${endpoint.host} (${endpoint.source})`;
  if (endpoint.kind === "tcp" && endpoint.tls) {
    const dir = endpoint.tls.dir;
    if (
      /UnknownIssuer|invalid peer certificate|certificate/i.test(reason) && !/alert/i.test(reason)
    ) {
      return new EngineSetupError(
        `The Docker engine at ${where} failed TLS verification: ${tlsReason(reason)}; ${
          endpoint.tls.caCert
            ? `its certificate is not one that ${dir}/ca.pem vouches for`
            : `no ca.pem in ${dir}`
        }`,
        { cause: error },
      );
    }
    if (/alert|handshake/i.test(reason)) {
      return new EngineSetupError(
        `The Docker engine at ${where} refused the TLS handshake (${tlsReason(reason)}): ${
          endpoint.tls.cert
            ? `it does not accept the client certificate ${dir}/cert.pem`
            : `it wants a client certificate: put cert.pem and key.pem in ${dir}`
        }`,
        { cause: error },
      );
    }
    if (/InvalidContentType|corrupt message|record overflow/i.test(reason)) {
      return new EngineSetupError(
        `The Docker engine at ${where} does not speak TLS: unset DOCKER_TLS_VERIFY (or use tcp:// without TLS material)`,
        { cause: error },
      );
    }
  }
  const ssh = await transport.sshFailure?.();
  if (ssh) {
    const userMustFix = /Permission denied|Host key verification|not found|no ssh client/i.test(
      ssh,
    );
    return userMustFix
      ? new EngineSetupError(`Cannot reach the Docker engine at ${where} over ssh: ${ssh}`, {
        cause: error,
      })
      : new DockerUnavailableError(endpoint.host, ssh, {
        cause: error,
        hint: "is the host reachable over ssh, with docker installed there?",
      });
  }
  return new DockerUnavailableError(endpoint.host, reason, { cause: error });
}

function firstLine(error: unknown): string {
  const text = error instanceof Error
    ? [error.message, error.cause instanceof Error ? error.cause.message : ""]
      .filter(Boolean).join(": ")
    : String(error);
  return text.split("\n")[0] ?? "";
}

/** The part of a rustls error that says what was wrong. */
function tlsReason(reason: string): string {
  return /(invalid peer certificate: \w+|received fatal alert: \w+|\w+Issuer|\w+Certificate\w*)/
    .exec(reason)?.[1] ?? reason;
}
