/**
 * The valibot schema of a pipeline file as written (before interpolation and defaults).
 * `flowctl schema` turns it into JSON Schema, so only JSON-Schema-expressible checks live here;
 * relations between fields are checked in parse_pipeline.ts.
 */
import * as v from "valibot";
import { didYouMean } from "./_suggest.ts";
import {
  componentId,
  configMap,
  describeItems,
  durationText,
  envValue,
  flag,
  integerIn,
  PIPELINE_NAME_PATTERN,
  port,
  PROFILE_PATTERN,
  strict,
  text,
  textList,
  textMap,
  wordList,
} from "./_schema_values.ts";

export {
  ID_MAX_LENGTH,
  ID_PATTERN,
  isComponentId,
  issueMessage,
  PIPELINE_NAME_PATTERN,
  PROFILE_PATTERN,
} from "./_schema_values.ts";

/**
 * `spec.driver` values: this flowctl's orchestrators, the Go flowctl's names for them (`local`,
 * `docker`), and drivers of other tools that files in the wild name (`kubernetes`, `nomad`).
 */
export const DRIVER_NAMES = [
  "process",
  "local",
  "container",
  "docker",
  "swarm",
  "kubernetes",
  "nomad",
] as const;

const portSpec = strict("a port", {
  name: v.optional(text()),
  containerPort: port,
  hostPort: v.optional(port),
  hostIp: v.optional(text("an IP address")),
  protocol: v.optional(
    v.picklist(
      ["tcp", "TCP"],
      (issue) => `only "tcp" ports are supported, got ${issue.received}`,
    ),
  ),
});

/** A bind mount (`host_path` + `container_path`) or a named volume (`name` + `mountPath`). */
const volumeSpec = strict("a volume", {
  name: v.optional(text("a volume name")),
  mountPath: v.optional(text("a path in the container")),
  host_path: v.optional(text("a path on the host")),
  container_path: v.optional(text("a path in the container")),
  readonly: v.optional(flag),
});

const secretSpec = strict("a secret", {
  name: text("a secret name"),
  host_path: v.optional(text("a path on the host")),
  container_path: v.optional(text("a path in the container")),
  env: v.optional(text("a variable name")),
  mode: v.optional(
    v.union(
      [v.pipe(v.string(), v.regex(/^0?[0-7]{3}$/)), integerIn("a file mode", 0, 0o777)],
      (issue) => `expected a file mode such as "0400", got ${issue.received}`,
    ),
  ),
  type: v.optional(text("a secret type")),
  required: v.optional(flag),
  labels: v.optional(textMap("labels")),
});

/** Kubernetes quantities: CPU "500m", "1", "0.5"; memory "512Mi", "1Gi", "1G", "1048576". */
export const CPU_PATTERN = /^(?:\d+(?:\.\d+)?|\.\d+)m?$/;
export const MEMORY_PATTERN = /^(?:\d+(?:\.\d+)?)(?:[KMGTPE]i?|k|e\d+)?$/;
const quantity = (what: string, pattern: RegExp, example: string) =>
  v.union(
    [
      v.pipe(
        v.string(),
        v.regex(pattern, (issue) => `invalid ${what} ${issue.received}: use ${example}`),
      ),
      v.pipe(v.number(), v.minValue(0, `a ${what} must not be negative`)),
    ],
    (issue) => `expected a ${what} such as ${example}, got ${issue.received}`,
  );
const resourceAmounts = strict("resource amounts", {
  cpu: v.optional(quantity("CPU amount", CPU_PATTERN, '"500m" or "2"')),
  memory: v.optional(quantity("memory amount", MEMORY_PATTERN, '"512Mi" or "1Gi"')),
});
const resourcesSpec = strict("resources", {
  requests: v.optional(resourceAmounts),
  limits: v.optional(resourceAmounts),
});

const healthSpec = strict("a health check", {
  http: v.optional(strict("an http check", { path: v.optional(text("a path")), port })),
  tcp: v.optional(strict("a tcp check", { port })),
  registered: v.optional(v.boolean((issue) => `expected true or false, got ${issue.received}`)),
  exec: v.optional(
    v.pipe(
      wordList,
      v.minLength(1, () => "expected a command (a non-empty list of words), got an empty list"),
    ),
  ),
  interval: v.optional(durationText),
  start_interval: v.optional(durationText),
  timeout: v.optional(durationText),
  retries: v.optional(integerIn("a retry count", 1, 1000)),
  start_period: v.optional(durationText),
  restart_after: v.optional(integerIn("a probe count", 1, 1000)),
});

const restartPolicy = v.picklist(
  ["no", "on-failure", "always"],
  (issue) => `invalid restart policy ${issue.received}: use "no", "on-failure" or "always"`,
);

const componentIds = v.array(
  componentId,
  (issue) => `expected a list of component ids, got ${issue.received}`,
);

/** Start conditions of `depends_on`'s map form; compose's `service_*` spellings mean the same. */
export const DEPENDENCY_CONDITIONS = ["started", "healthy", "completed_successfully"] as const;
const conditionNames = [
  ...DEPENDENCY_CONDITIONS,
  ...DEPENDENCY_CONDITIONS.map((name) => `service_${name}`),
];

const dependencyCondition = v.picklist(
  conditionNames,
  (issue) =>
    `invalid condition ${issue.received}: use "started", "healthy" or "completed_successfully"${
      typeof issue.input === "string" ? didYouMean(issue.input, conditionNames) : ""
    }`,
);

const dependencyMap = v.record(
  componentId,
  v.nullable(strict("a dependency", { condition: v.optional(dependencyCondition) })),
  (issue) => `expected a mapping of dependencies, got ${issue.received}`,
);
const listOrMap = v.union(
  [componentIds, dependencyMap],
  (issue) =>
    `expected a list of component ids or a mapping such as "{ migrate: { condition: completed_successfully } }", got ${issue.received}`,
);

/**
 * `depends_on`: a list of ids (each must be healthy first), or compose's map form
 * `{ migrate: { condition: completed_successfully } }`. Chosen by the input's shape so a mistake
 * inside either form is reported where it is (a union would only say that neither form fits);
 * `flowctl schema` sees the union (the getter is asked without an input there).
 */
const dependsOn = v.lazy((input: unknown) =>
  Array.isArray(input)
    ? componentIds
    : typeof input === "object" && input !== null
    ? dependencyMap
    : listOrMap
);

const componentEntries = {
  id: componentId,
  name: v.optional(text()),
  description: v.optional(text()),
  type: v.optional(text("a component type")),
  command: v.optional(
    v.union(
      [text(), wordList],
      (issue) =>
        Array.isArray(issue.input)
          ? `expected a list of strings, numbers or booleans, got ${describeItems(issue.input)}`
          : `expected a command (a string or a list of strings), got ${issue.received}`,
    ),
  ),
  // A string is one argument: files pass a whole script to `sh -c` this way.
  args: v.optional(
    v.union(
      [text(), wordList],
      (issue) =>
        Array.isArray(issue.input)
          ? `expected a list of strings, numbers or booleans, got ${describeItems(issue.input)}`
          : `expected a list of arguments (or one string), got ${issue.received}`,
    ),
  ),
  working_dir: v.optional(text("a folder path")),
  image: v.optional(text("an image reference")),
  pull_policy: v.optional(
    v.picklist(
      ["missing", "always", "never"],
      (issue) => `invalid pull_policy ${issue.received}: use "missing", "always" or "never"`,
    ),
  ),
  env: v.optional(
    v.record(text(), envValue, (issue) => `expected a mapping of variables, got ${issue.received}`),
  ),
  ports: v.optional(
    v.array(portSpec, (issue) => `expected a list of ports, got ${issue.received}`),
  ),
  health_check: v.optional(text('a health check path such as "/health"')),
  health_port: v.optional(port),
  health_endpoint: v.optional(text('a URL such as "http://my-component:8081/health"')),
  health: v.optional(healthSpec),
  restart: v.optional(restartPolicy),
  restart_policy: v.optional(restartPolicy),
  depends_on: v.optional(dependsOn),
  // Compose syntax, relative to the pipeline file; below `env`, above config and injected vars.
  env_file: v.optional(
    v.union(
      [text(), textList("files")],
      (issue) => `expected a file path or a list of them, got ${issue.received}`,
    ),
  ),
  profiles: v.optional(
    v.array(
      v.pipe(
        text("a profile name"),
        v.regex(
          PROFILE_PATTERN,
          (issue) =>
            `invalid profile name ${issue.received}: use letters, digits, "_", "." and "-", starting with a letter or digit`,
        ),
      ),
      (issue) => `expected a list of profile names, got ${issue.received}`,
    ),
  ),
  input_event_types: v.optional(textList("event types")),
  output_event_types: v.optional(textList("event types")),
  config: v.optional(configMap),
  volumes: v.optional(
    v.array(volumeSpec, (issue) => `expected a list of volumes, got ${issue.received}`),
  ),
  secrets: v.optional(
    v.array(secretSpec, (issue) => `expected a list of secrets, got ${issue.received}`),
  ),
  replicas: v.optional(integerIn("a replica count", 1, 100)),
  resources: v.optional(resourcesSpec),
  max_restarts: v.optional(integerIn("a restart count", 0, 1_000_000)),
  stop_grace_period: v.optional(durationText),
  privileged: v.optional(flag),
  network_mode: v.optional(
    v.picklist(
      ["bridge", "host"],
      (issue) => `invalid network_mode ${issue.received}: use "bridge" or "host"`,
    ),
  ),
  placement: v.optional(strict("placement", {
    constraints: v.optional(v.array(
      v.pipe(
        text('a constraint such as "node.role==manager"'),
        v.regex(
          /^\s*[A-Za-z0-9_.-]+(?:\.[A-Za-z0-9_.-]+)*\s*(?:==|!=)\s*\S.*$/,
          (issue) =>
            `invalid constraint ${issue.received}: use "<attribute>==<value>" or "<attribute>!=<value>", e.g. "node.hostname==worker-1"`,
        ),
      ),
      (issue) => `expected a list of constraints, got ${issue.received}`,
    )),
  })),
  // Who moves this component's events (src/datapath): flowctl's data path, or the components.
  data_path: v.optional(
    v.picklist(
      ["driven", "direct"],
      (issue) => `invalid data_path ${issue.received}: use "driven" or "direct"`,
    ),
  ),
  endpoint_mode: v.optional(
    v.picklist(
      ["dnsrr", "vip"],
      (issue) => `invalid endpoint_mode ${issue.received}: use "dnsrr" or "vip"`,
    ),
  ),
};

const sourceSpec = strict("a component", componentEntries, {
  inputs: " (sources have no inputs; make it a processor or a sink)",
});
const consumerSpec = strict("a component", {
  ...componentEntries,
  inputs: v.optional(componentIds),
});

const componentList = <T extends v.GenericSchema>(item: T) =>
  v.optional(
    v.nullable(v.array(item, (issue) => `expected a list of components, got ${issue.received}`)),
  );

/** Schema of a whole pipeline file. */
export const PipelineFileSchema = strict("a pipeline", {
  // "v1" is the Go flowctl's spelling: a warning (an error with --strict), in parse_pipeline.ts.
  apiVersion: v.picklist(
    ["flowctl/v1", "v1"],
    (issue) => `unsupported apiVersion ${issue.received}: use "flowctl/v1"`,
  ),
  kind: v.literal("Pipeline", (issue) => `unsupported kind ${issue.received}: use "Pipeline"`),
  metadata: strict("metadata", {
    name: v.pipe(
      text("a pipeline name"),
      v.maxLength(63, (issue) => `name is too long (${issue.received} characters, at most 63)`),
      v.regex(
        PIPELINE_NAME_PATTERN,
        (issue) =>
          `invalid name ${issue.received}: use lowercase letters, digits and "-", starting with a letter or digit`,
      ),
    ),
    namespace: v.optional(text("a namespace")),
    description: v.optional(text()),
    labels: v.optional(textMap("labels")),
    annotations: v.optional(textMap("annotations")),
  }),
  spec: strict("spec", {
    description: v.optional(text()),
    // Drivers of other tools are accepted here and warned about in parse_pipeline.ts.
    driver: v.optional(
      v.picklist(
        DRIVER_NAMES,
        (issue) =>
          `unknown driver ${issue.received}${
            typeof issue.input === "string" ? didYouMean(issue.input, DRIVER_NAMES) : ""
          }: use "process" (or "local"), "container" (or "docker") or "swarm"`,
      ),
    ),
    config: v.optional(configMap),
    sources: componentList(sourceSpec),
    processors: componentList(consumerSpec),
    sinks: componentList(consumerSpec),
    /** Whole pipelines in one container each; they run like sinks. */
    pipelines: componentList(consumerSpec),
  }),
});

export type PipelineFile = v.InferOutput<typeof PipelineFileSchema>;
export type ComponentSpec = v.InferOutput<typeof consumerSpec>;
export type HealthSpec = v.InferOutput<typeof healthSpec>;
export type VolumeSpec = v.InferOutput<typeof volumeSpec>;
export type SecretSpec = v.InferOutput<typeof secretSpec>;
export type ResourcesSpec = v.InferOutput<typeof resourcesSpec>;
