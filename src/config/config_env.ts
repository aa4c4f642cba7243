/**
 * A component's `config` as environment variables. The name of each is, in order: the component
 * metadata's `env_mapping[key]`, its `config_schema[key].env`, else the key in UPPER_SNAKE_CASE.
 */

/** `config` → variables, named through the component's metadata when it has any. */
export function configEnv(
  config: Readonly<Record<string, string>>,
  metadata?: {
    envMapping?: Readonly<Record<string, string>>;
    configSchema?: Readonly<Record<string, { env?: string }>>;
  },
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    const name = metadata?.envMapping?.[key] ?? metadata?.configSchema?.[key]?.env ??
      upperSnakeCase(key);
    env[name] = value;
  }
  return env;
}

/** `startLedger`, `start-ledger`, `start.ledger` → `START_LEDGER`. */
function upperSnakeCase(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .toUpperCase();
}
