/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha): lists the services and hands out
 * their file descriptors, so grpcurl and similar tools work without .proto files.
 */
import { type DescFile, type DescMessage, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import * as v1 from "./gen/grpc/reflection/v1/reflection_pb.ts";
import * as v1alpha from "./gen/grpc/reflection/v1alpha/reflection_pb.ts";

/** What a reflection request asks, in either version. */
type ReflectionQuery =
  | { case: "fileByFilename" | "fileContainingSymbol" | "listServices"; value: string }
  | { case: "fileContainingExtension" | "allExtensionNumbersOfType" | undefined; value?: unknown };

/** The answer, in the shape both versions share. */
type ReflectionAnswer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

/** Serves both reflection versions for the services defined in `files`. */
export function addReflection(router: ConnectRouter, files: readonly DescFile[]): void {
  const index = indexFiles(files);
  const services = files.flatMap((f) => f.services.map((s) => s.typeName)).sort();
  const answer = (query: ReflectionQuery) => answerQuery(query, index, services);
  router.service(v1.ServerReflection, {
    async *serverReflectionInfo(requests) {
      for await (const request of requests) {
        yield {
          validHost: request.host,
          originalRequest: request,
          messageResponse: answer(request.messageRequest),
        };
      }
    },
  });
  router.service(v1alpha.ServerReflection, {
    async *serverReflectionInfo(requests) {
      for await (const request of requests) {
        yield {
          validHost: request.host,
          originalRequest: request,
          messageResponse: answer(request.messageRequest),
        };
      }
    },
  });
}

interface FileIndex {
  byName: Map<string, DescFile>;
  bySymbol: Map<string, DescFile>;
}

function answerQuery(
  query: ReflectionQuery,
  index: FileIndex,
  services: string[],
): ReflectionAnswer {
  switch (query.case) {
    case "listServices":
      return {
        case: "listServicesResponse",
        value: { service: services.map((name) => ({ name })) },
      };
    case "fileByFilename":
    case "fileContainingSymbol": {
      const name = query.value;
      const file = query.case === "fileByFilename"
        ? index.byName.get(name)
        : index.bySymbol.get(name.replace(/^\./, ""));
      if (!file) {
        return notFound(
          query.case === "fileByFilename"
            ? `file "${name}" not found`
            : `symbol "${name}" not found`,
        );
      }
      return {
        case: "fileDescriptorResponse",
        value: {
          fileDescriptorProto: withDependencies(file).map((f) =>
            toBinary(FileDescriptorProtoSchema, f.proto)
          ),
        },
      };
    }
    default:
      // No extensions are defined here.
      return notFound("this server defines no extensions");
  }
}

function notFound(message: string): ReflectionAnswer {
  return { case: "errorResponse", value: { errorCode: 5, errorMessage: message } };
}

/** `file` first, then every file it imports, each once. */
function withDependencies(file: DescFile): DescFile[] {
  const seen = new Map<string, DescFile>();
  const visit = (f: DescFile) => {
    if (seen.has(f.name)) return;
    seen.set(f.name, f);
    f.dependencies.forEach(visit);
  };
  visit(file);
  return [...seen.values()];
}

function indexFiles(files: readonly DescFile[]): FileIndex {
  const byName = new Map<string, DescFile>();
  const bySymbol = new Map<string, DescFile>();
  const addMessage = (file: DescFile, message: DescMessage) => {
    bySymbol.set(message.typeName, file);
    for (const field of message.fields) bySymbol.set(`${message.typeName}.${field.name}`, file);
    for (const e of message.nestedEnums) bySymbol.set(e.typeName, file);
    for (const nested of message.nestedMessages) addMessage(file, nested);
  };
  const visit = (file: DescFile) => {
    if (byName.has(`${file.proto.name}`)) return;
    byName.set(`${file.proto.name}`, file);
    for (const service of file.services) {
      bySymbol.set(service.typeName, file);
      for (const method of service.methods) {
        bySymbol.set(`${service.typeName}.${method.name}`, file);
      }
    }
    for (const message of file.messages) addMessage(file, message);
    for (const e of file.enums) bySymbol.set(e.typeName, file);
    file.dependencies.forEach(visit);
  };
  files.forEach(visit);
  return { byName, bySymbol };
}
