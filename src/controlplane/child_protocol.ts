/**
 * What flowctl and its control plane process tell each other, one JSON message per line: the
 * parent sends the run's facts and answers "who is this caller?"; the child reports what changed
 * in the registry (registrations at once, heartbeats coalesced per tick) and answers the parent's
 * pings, which tell a hung child from a working one. A child may be broken (heap corruption is
 * why it is a child), so the parent parses every line through a schema.
 */
import * as v from "valibot";

/** The hidden subcommand that runs the control plane process. */
export const CHILD_COMMAND = "__control-plane";

const HealthStateSchema = v.picklist([
  "unknown",
  "starting",
  "healthy",
  "degraded",
  "unhealthy",
  "stopping",
]);
const StringMap = v.record(v.string(), v.string());

const RegistrationSchema = v.object({
  serviceId: v.string(),
  componentId: v.exactOptional(v.string()),
  matchedBy: v.exactOptional(v.picklist([
    "component_id",
    "service_id",
    "metadata.component_id",
    "component.id",
    "health_endpoint port",
    "peer identity",
  ])),
  unmatchedReason: v.exactOptional(v.string()),
  request: v.object({
    protocol: v.picklist(["flowctl.v1", "flowctl"]),
    componentId: v.exactOptional(v.string()),
    serviceId: v.exactOptional(v.string()),
    infoId: v.exactOptional(v.string()),
    healthEndpoint: v.exactOptional(v.string()),
    name: v.exactOptional(v.string()),
    description: v.exactOptional(v.string()),
    version: v.exactOptional(v.string()),
    type: v.string(),
    endpoint: v.exactOptional(v.string()),
    inputEventTypes: v.array(v.string()),
    outputEventTypes: v.array(v.string()),
    metadata: StringMap,
  }),
  registeredAt: v.number(),
  lastHeartbeat: v.number(),
  status: HealthStateSchema,
  metrics: StringMap,
  stale: v.boolean(),
});

const PeerSchema = v.object({
  address: v.string(),
  port: v.number(),
  local: v.object({ address: v.string(), port: v.number() }),
});

const SnapshotSchema = v.object({
  registrations: v.array(RegistrationSchema),
  floodWarned: v.array(v.string()),
});

/** The first line the parent sends: everything the child needs to serve this run. */
export const ChildInitSchema = v.object({
  type: v.literal("init"),
  hosts: v.array(v.string()),
  port: v.number(),
  open: v.boolean(),
  components: v.array(v.object({ id: v.string(), healthPorts: v.array(v.number()) })),
  heartbeatIntervalMs: v.number(),
  snapshot: SnapshotSchema,
});
export type ChildInit = v.InferOutput<typeof ChildInitSchema>;

/** Lines the parent sends after the first. */
export const ParentMessageSchema = v.variant("type", [
  v.object({
    type: v.literal("identity"),
    id: v.number(),
    component: v.exactOptional(v.string()),
    /** Why the caller is no component it could be (swarm: its claim does not fit its node). */
    refused: v.exactOptional(v.string()),
  }),
  v.object({ type: v.literal("listen"), id: v.number(), host: v.string() }),
  /** Are you still answering? (liveness_watch.ts) */
  v.object({ type: v.literal("ping"), id: v.number() }),
]);
export type ParentMessage = v.InferOutput<typeof ParentMessageSchema>;

const BeatSchema = v.object({
  serviceId: v.string(),
  lastHeartbeat: v.number(),
  status: HealthStateSchema,
  metrics: StringMap,
  stale: v.boolean(),
});

/** Lines the child sends. */
export const ChildMessageSchema = v.variant("type", [
  v.object({ type: v.literal("listening"), port: v.number(), pid: v.number() }),
  v.object({ type: v.literal("failed"), message: v.string(), portInUse: v.boolean() }),
  v.object({ type: v.literal("listened"), id: v.number(), error: v.exactOptional(v.string()) }),
  v.object({
    type: v.literal("identify"),
    id: v.number(),
    peer: PeerSchema,
    claim: v.exactOptional(v.object({
      ids: v.array(v.string()),
      healthEndpoint: v.exactOptional(v.string()),
    })),
  }),
  v.object({
    type: v.literal("event"),
    event: v.variant("type", [
      v.object({ type: v.literal("registered"), registration: RegistrationSchema }),
      v.object({ type: v.literal("unregistered"), registration: RegistrationSchema }),
      v.object({ type: v.literal("resumed"), registration: RegistrationSchema }),
      v.object({
        type: v.literal("stale"),
        registration: RegistrationSchema,
        silentMs: v.number(),
      }),
      v.object({
        type: v.literal("dropped"),
        registration: RegistrationSchema,
        silentMs: v.number(),
      }),
      v.object({
        type: v.literal("heartbeat_flood"),
        registration: RegistrationSchema,
        count: v.number(),
        windowMs: v.number(),
      }),
    ]),
  }),
  v.object({ type: v.literal("beats"), beats: v.array(BeatSchema) }),
  v.object({ type: v.literal("pong"), id: v.number() }),
]);
export type ChildMessage = v.InferOutput<typeof ChildMessageSchema>;
