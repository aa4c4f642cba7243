/**
 * Event types along `inputs` edges: a consumer that accepts none of the types its input
 * produces. Declared in the file (`input_event_types`, `output_event_types`) or, for registry
 * components, in their metadata (`consumes`/`produces`), which `typesOf` can supply.
 */
import type { Component } from "./pipeline.ts";

/** An input edge whose ends declare event types with none in common. */
export interface EventTypeMismatch {
  component: string;
  input: string;
  /** Position of the input in the component's `inputs`. */
  inputIndex: number;
  produces: readonly string[];
  accepts: readonly string[];
}

/** The event types a component accepts and produces. */
export interface EventTypes {
  accepts: readonly string[];
  produces: readonly string[];
}

/**
 * Every input edge whose ends both declare types and share none. An end that declares no types
 * matches anything.
 * @param typesOf a component's types; by default those written in the file.
 */
export function eventTypeMismatches(
  components: readonly Component[],
  typesOf: (component: Component) => EventTypes = (c) => ({
    accepts: c.inputEventTypes,
    produces: c.outputEventTypes,
  }),
): EventTypeMismatch[] {
  const byId = new Map(components.map((c) => [c.id, c]));
  const mismatches: EventTypeMismatch[] = [];
  for (const component of components) {
    const { accepts } = typesOf(component);
    if (accepts.length === 0) continue;
    component.inputs.forEach((input, inputIndex) => {
      const producer = byId.get(input);
      const produces = producer ? typesOf(producer).produces : [];
      if (produces.length === 0 || produces.some((type) => accepts.includes(type))) return;
      mismatches.push({ component: component.id, input, inputIndex, produces, accepts });
    });
  }
  return mismatches;
}

/** `input "src" produces "a" but "sink" accepts "b", "c": no event type in common`. */
export function describeMismatch(mismatch: EventTypeMismatch): string {
  const list = (items: readonly string[]) => items.map((item) => `"${item}"`).join(", ");
  return `input "${mismatch.input}" produces ${
    list(mismatch.produces)
  } but "${mismatch.component}" accepts ${list(mismatch.accepts)}: no event type in common`;
}
