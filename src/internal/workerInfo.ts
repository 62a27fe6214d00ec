/**
 * The `WorkerInfo` service (re-exported and documented as `Supervisor.WorkerInfo`).
 *
 * @internal
 */
import * as Context from "effect/Context"

/**
 * Which worker runs the current task (or acquires the current resource).
 *
 * @since 0.2.0
 * @category services
 */
export class WorkerInfo extends Context.Tag("effect-supervisor/WorkerInfo")<WorkerInfo, {
  /** the worker's number, from 0; stable across its restarts */
  readonly id: number
  /** how many times this worker has (re)started its resource, from 0 */
  readonly incarnation: number
}>() {}
