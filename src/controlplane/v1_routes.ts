/** `flowctl.v1.ControlPlaneService`, the service flowctl-sdk components call. */
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { ComponentType, ControlPlaneService } from "./gen/flowctl/v1/control_plane_pb.ts";
import { acceptHeartbeat, notRegistered, ownRecord, type Plane, registerCaller } from "./caller.ts";
import type { Registration, Registry } from "./registry.ts";
import {
  componentInfo,
  componentTypeName,
  componentTypeOf,
  connectionInfo,
  healthStateOf,
  statusResponse,
} from "./wire_mapping.ts";

/** `flowctl.v1.ControlPlaneService`, the SDK's service. */
export function addServiceRoutes(router: ConnectRouter, plane: Plane): void {
  const { registry } = plane;
  router.service(ControlPlaneService, {
    async registerComponent(request, context) {
      const info = request.component;
      const registration = await registerCaller(
        plane,
        {
          protocol: "flowctl.v1",
          componentId: request.componentId,
          infoId: info?.id ?? "",
          name: info?.name ?? "",
          description: info?.description ?? "",
          version: info?.version ?? "",
          type: componentTypeName(info?.type ?? ComponentType.UNSPECIFIED),
          endpoint: info?.endpoint ?? "",
          inputEventTypes: info?.inputEventTypes ?? [],
          outputEventTypes: info?.outputEventTypes ?? [],
          metadata: info?.metadata ?? {},
        },
        context,
      );
      return {
        serviceId: registration.serviceId,
        assignedTopics: info?.outputEventTypes ?? [],
        connectionInfo: connectionInfo(registration),
      };
    },
    async unregisterComponent(request, context) {
      const registration = await ownRecord(plane, request.serviceId, context, "unregistering")
        .catch((error) => {
          // Unregistering what is gone is done.
          if (error instanceof ConnectError && error.code === Code.NotFound) return undefined;
          throw error;
        });
      if (registration) registry.unregister(registration.serviceId);
      return {};
    },
    async heartbeat(request, context) {
      await acceptHeartbeat(
        plane,
        {
          serviceId: request.serviceId,
          metrics: request.metrics,
          status: healthStateOf(request.status),
        },
        context,
      );
      return {};
    },
    getComponentStatus(request) {
      const registration = registry.get(request.serviceId);
      if (!registration) throw notRegistered(request.serviceId);
      return statusResponse(registration);
    },
    listComponents(request) {
      return { components: listed(registry, request).map(statusResponse) };
    },
    discoverComponents(request) {
      return { components: discovered(registry, request).map(componentInfo) };
    },
  });
}

/** The registrations ListComponents answers with. */
function listed(
  registry: Registry,
  request: { typeFilter: ComponentType; includeUnhealthy: boolean },
): Registration[] {
  return registry.list()
    .filter((r) =>
      request.typeFilter === ComponentType.UNSPECIFIED ||
      componentTypeOf(r) === request.typeFilter
    )
    .filter((r) => request.includeUnhealthy || registry.isHealthy(r));
}

/** The registrations DiscoverComponents answers with. */
function discovered(
  registry: Registry,
  request: {
    type: ComponentType;
    eventTypes: string[];
    metadataFilters: Record<string, string>;
  },
): Registration[] {
  return registry.list()
    .filter((r) =>
      request.type === ComponentType.UNSPECIFIED || componentTypeOf(r) === request.type
    )
    .filter((r) =>
      request.eventTypes.length === 0 ||
      request.eventTypes.some((t) => r.request.outputEventTypes.includes(t))
    )
    .filter((r) =>
      Object.entries(request.metadataFilters).every(([k, v]) => r.request.metadata[k] === v)
    );
}
