import { expect, it } from "@effect/vitest"
import { Chunk, Data, Effect, Exit, FastCheck as fc, Fiber, Ref, Schedule, Scope, Stream, TestClock } from "effect"
import { Errors, Restart, Supervisor } from "effect-supervisor"

class Nope extends Data.TaggedError("Nope")<{}> {}

type Kind = "succeed" | "fail" | "die" | "slow" | "crash"

interface Task {
  readonly id: number
  readonly kind: Kind
  readonly millis: number
}

const settle = Effect.repeatN(Effect.yieldNow(), 20)

const taskArb = fc.record({
  kind: fc.constantFrom<Kind>("succeed", "fail", "die", "slow", "slow", "crash"),
  millis: fc.integer({ min: 0, max: 50 })
})

it.effect.prop(
  "every accepted task ends in exactly one outcome; acquires = releases; no fiber left",
  {
    specs: fc.array(taskArb, { maxLength: 40 }),
    workers: fc.integer({ min: 1, max: 4 }),
    capacity: fc.integer({ min: 1, max: 8 }),
    strategy: fc.constantFrom("suspend" as const, "dropping" as const, "sliding" as const),
    stopAt: fc.integer({ min: 0, max: 120 }),
    stop: fc.constantFrom("shutdown" as const, "shutdownNow" as const, "scope" as const),
    timeout: fc.option(fc.integer({ min: 5, max: 40 }), { nil: undefined }),
    retries: fc.integer({ min: 0, max: 2 })
  },
  ({ capacity, retries, specs, stop, stopAt, strategy, timeout, workers }) =>
    Effect.gen(function*() {
      const tasks: ReadonlyArray<Task> = specs.map((spec, id) => ({ id, ...spec }))
      const acquired = yield* Ref.make(0)
      const released = yield* Ref.make(0)
      const handlerFibers: Array<Fiber.RuntimeFiber<unknown, unknown>> = []
      const bracket = Effect.acquireRelease(
        Ref.update(acquired, (n) => n + 1),
        () => Ref.update(released, (n) => n + 1)
      )
      const handler = (task: Task): Effect.Effect<number, Nope | Errors.WorkerCrashed, Scope.Scope> =>
        Effect.zipRight(
          bracket,
          Effect.withFiberRuntime<number, Nope | Errors.WorkerCrashed>((fiber) => {
            handlerFibers.push(fiber)
            switch (task.kind) {
              case "succeed":
                return Effect.succeed(task.id)
              case "fail":
                return Effect.fail(new Nope())
              case "die":
                return Effect.die(task.id)
              case "slow":
                return Effect.as(Effect.sleep(task.millis), task.id)
              case "crash":
                return Effect.fail(new Errors.WorkerCrashed({ cause: task.id }))
            }
          })
        )
      const scope = yield* Scope.make()
      const sup = yield* Supervisor.make({
        workers,
        capacity,
        strategy,
        timeout,
        retry: Schedule.recurs(retries),
        resource: bracket,
        restart: Restart.policy({ maxRestarts: 1000, backoff: Schedule.spaced("1 millis") }),
        handler: (task: Task) => Effect.scoped(handler(task))
      }).pipe(Scope.extend(scope))
      const outcomes = yield* Effect.fork(Stream.runCollect(sup.outcomes))
      yield* settle
      const submitter = yield* Effect.fork(Effect.exit(sup.submitAll(tasks)))
      yield* TestClock.adjust(stopAt)
      if (stop === "scope") {
        yield* Scope.close(scope, Exit.void)
      } else {
        const done = yield* Effect.fork(sup[stop])
        yield* TestClock.adjust("10 seconds")
        yield* Fiber.join(done)
        yield* Scope.close(scope, Exit.void)
      }
      yield* Fiber.join(submitter)
      const seen = Chunk.toReadonlyArray(yield* Fiber.join(outcomes)).map((o) => o.task.id)
      const stats = yield* sup.stats
      // exactly one outcome per accepted task
      expect(new Set(seen).size).toBe(seen.length)
      expect(seen.length).toBe(stats.submitted)
      expect(stats.queued + stats.running).toBe(0)
      expect(stats.succeeded + stats.failed + stats.defects + stats.interrupted + stats.dropped).toBe(stats.submitted)
      // accepted tasks are a prefix of the submitted ones
      expect([...seen].sort((a, b) => a - b)).toEqual(tasks.slice(0, stats.submitted).map((t) => t.id))
      expect(yield* Ref.get(acquired)).toBe(yield* Ref.get(released))
      for (const fiber of handlerFibers) expect(fiber.unsafePoll()).not.toBeNull()
    }),
  { fastCheck: { numRuns: 150 } }
)
