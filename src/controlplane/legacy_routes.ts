/** `flowctl.ControlPlane`, the service older components call. */
import type { ConnectRouter } from "@connectrpc/connect";
import { ControlPlane } from "./gen/flowctl/control_plane_pb.ts";
import { acceptHeartbeat, notRegistered, type Plane, registerCaller } from "./caller.ts";
import { connectionInfo, serviceStatus, serviceTypeName } from "./wire_mapping.ts";

/** `flowctl.ControlPlane`, the service older components call. */
export function addLegacyRoutes(router: ConnectRouter, plane: Plane): void {
  const { registry } = plane;
  router.service(ControlPlane, {
    async register(request, context) {
      const registration = await registerCaller(
        plane,
        {
          protocol: "flowctl",
          componentId: request.componentId,
          serviceId: request.serviceId,
          healthEndpoint: request.healthEndpoint,
          type: serviceTypeName(request.serviceType),
          inputEventTypes: request.inputEventTypes,
          outputEventTypes: request.outputEventTypes,
          metadata: request.metadata,
        },
        context,
      );
      return {
        serviceId: registration.serviceId,
        topicNames: request.outputEventTypes,
        connectionInfo: connectionInfo(registration),
      };
    },
    async heartbeat(request, context) {
      await acceptHeartbeat(
        plane,
        { serviceId: request.serviceId, metrics: request.metrics },
        context,
      );
      return {};
    },
    getServiceStatus(request) {
      const registration = registry.get(request.serviceId) ??
        (request.componentId ? registry.forComponent(request.componentId) : undefined);
      if (!registration) throw notRegistered(request.serviceId || request.componentId);
      return serviceStatus(registration, registry);
    },
    listServices() {
      return { services: registry.list().map((r) => serviceStatus(r, registry)) };
    },
  });
}
