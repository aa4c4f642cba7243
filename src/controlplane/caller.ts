/**
 * Who a control plane caller is, and what it may do: only a component's own processes (or its
 * container) may register as it or change its record, unless the control plane is open.
 */
import { Code, ConnectError, createContextKey, type HandlerContext } from "@connectrpc/connect";
import { finiteMetrics, metricsTooLarge, registrationTooLarge } from "./limits.ts";
import type { PeerClaim, PeerRefusal } from "./peer.ts";
import {
  type HealthState,
  type Registration,
  RegistrationLimitError,
  type RegistrationRequest,
  type Registry,
} from "./registry.ts";

/**
 * Where the registry's changes go (flowctl, from the control plane process). A registration is
 * answered only once `registered()` resolved, so an answered registration is never lost.
 */
export interface RegistrySync {
  registered(): Promise<void>;
  beat(registration: Registration): void;
}

/** What the routes serve from. */
export interface Plane {
  registry: Registry;
  /** Anyone may register as any component and change any record (`--open-control-plane`). */
  open: boolean;
  sync?: RegistrySync | undefined;
}

/** Who is calling, as the handlers see it. */
export interface Caller {
  address: string;
  /** The component it was identified as (asked lazily, once per connection and claim). */
  component(claim?: PeerClaim): Promise<string | PeerRefusal | undefined>;
}

/** What the rules need of a call: its context values (who is calling). */
export type CallContext = Pick<HandlerContext, "values">;

export const callerKey = createContextKey<Caller | undefined>(undefined, { description: "caller" });

/** The component the caller is, refusing callers that are none (unless the plane is open). */
async function requireComponent(
  context: CallContext,
  open: boolean,
  action: string,
  claim?: PeerClaim,
): Promise<string | undefined> {
  if (open) return undefined;
  const caller = context.values.get(callerKey);
  const component = await caller?.component(claim);
  if (typeof component === "object") {
    throw new ConnectError(
      `${action} refused: the caller at "${caller?.address ?? "unknown"}" ${component.refused}`,
      Code.PermissionDenied,
    );
  }
  if (component === undefined) {
    throw new ConnectError(
      `${action} refused: the caller at "${
        caller?.address ?? "unknown"
      }" is no component of this pipeline (neither a process of one nor its container); flowctl run --open-control-plane lets anyone in`,
      Code.PermissionDenied,
    );
  }
  return component;
}

/** Registers `request` for the caller, who must be the component it names (unless open). */
export async function registerCaller(
  plane: Plane,
  request: RegistrationRequest,
  context: CallContext,
): Promise<Registration> {
  const { registry, open } = plane;
  const tooLarge = registrationTooLarge(request);
  if (tooLarge) {
    throw new ConnectError(`registration refused: ${tooLarge}`, Code.ResourceExhausted);
  }
  const component = await requireComponent(context, open, "registration", {
    ids: [request.componentId, request.serviceId, request.metadata.component_id, request.infoId]
      .filter((id): id is string => Boolean(id)),
    healthEndpoint: request.healthEndpoint,
  });
  if (component !== undefined) {
    // A component may send any id of its own, but never another component's.
    const claimed = [
      request.componentId,
      request.serviceId,
      request.metadata.component_id,
      request.infoId,
    ]
      .find((id) => id && id !== component && registry.declares(id));
    if (claimed) {
      throw new ConnectError(
        `registration refused: component "${component}" cannot register as component "${claimed}"`,
        Code.PermissionDenied,
      );
    }
  }
  try {
    const registration = registry.register(
      request,
      component !== undefined ? { peer: component } : {},
    );
    await plane.sync?.registered();
    return registration;
  } catch (error) {
    if (error instanceof RegistrationLimitError) {
      throw new ConnectError(error.message, Code.ResourceExhausted);
    }
    throw error;
  }
}

/** The record of `serviceId`, which only the component it belongs to may change (unless open). */
export async function ownRecord(
  plane: Plane,
  serviceId: string,
  context: CallContext,
  action: string,
): Promise<Registration> {
  const { registry } = plane;
  const registration = registry.get(serviceId);
  const component = await requireComponent(context, plane.open, action, {
    ids: [registration?.componentId ?? serviceId],
  });
  if (!registration) throw notRegistered(serviceId);
  if (component !== undefined && registration.componentId !== component) {
    throw new ConnectError(
      `${action} of "${serviceId}" refused: it is the record of ${
        registration.componentId ? `component "${registration.componentId}"` : "another caller"
      }, and the caller is component "${component}"`,
      Code.PermissionDenied,
    );
  }
  return registration;
}

/** Records a heartbeat of the caller's own record; metrics that are not finite are dropped. */
export async function acceptHeartbeat(
  plane: Plane,
  request: { serviceId: string; metrics: Record<string, number | string>; status?: HealthState },
  context: CallContext,
): Promise<void> {
  const registration = await ownRecord(plane, request.serviceId, context, "heartbeat");
  const metrics = finiteMetrics(request.metrics);
  const tooLarge = metricsTooLarge(metrics);
  if (tooLarge) throw new ConnectError(`heartbeat refused: ${tooLarge}`, Code.ResourceExhausted);
  const beaten = plane.registry.heartbeat(registration.serviceId, {
    metrics,
    ...(request.status !== undefined ? { status: request.status } : {}),
  });
  if (beaten) plane.sync?.beat(beaten);
}

export function notRegistered(serviceId: string): ConnectError {
  return new ConnectError(
    `service "${serviceId}" is not registered in this run; register first`,
    Code.NotFound,
  );
}
