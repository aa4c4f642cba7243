/**
 * `config` → environment: the variable names a component's settings are passed under, as the Go
 * flowctl names them (metadata `env_mapping`, then `config_schema[key].env`, then UPPER_SNAKE).
 */

/** What a component's metadata says about naming its settings' variables. */
export interface ConfigEnvMetadata {
  envMapping?: Readonly<Record<string, string>>;
  configSchema?: Readonly<Record<string, { env?: string }>>;
}

/**
 * The variables of a component's `config`: each key under the name its metadata gives it, else
 * the key in UPPER_SNAKE_CASE.
 * @example configEnv({ startLedger: "5" }) // { START_LEDGER: "5" }
 */
export function configEnv(
  config: Readonly<Record<string, string>>,
  metadata?: ConfigEnvMetadata,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    const name = metadata?.envMapping?.[key] ?? metadata?.configSchema?.[key]?.env ??
      upperSnakeCase(key);
    env[name] = value;
  }
  return env;
}

/**
 * `network_passphrase` → `NETWORK_PASSPHRASE`, `startLedger` → `START_LEDGER`,
 * `rpc-endpoint` → `RPC_ENDPOINT`, `HTTPServer` → `HTTP_SERVER`.
 */
export function upperSnakeCase(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .toUpperCase();
}
