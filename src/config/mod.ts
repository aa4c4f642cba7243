/** Public surface of the pipeline configuration: loading, validating and the model. */
export * from "./config_error.ts";
export * from "./duration.ts";
export * from "./parse_pipeline.ts";
export * from "./pipeline.ts";
export { ID_MAX_LENGTH, ID_PATTERN, isComponentId, PipelineFileSchema } from "./schema.ts";
export { configEnv, type ConfigEnvMetadata, upperSnakeCase } from "./config_env.ts";
export * from "./event_types.ts";
export { parseDotenv } from "./dotenv.ts";
export { closestMatch, didYouMean } from "./_suggest.ts";
export { clip } from "./_issues.ts";
export { graphOf } from "./graph_of.ts";
