import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { Errors, Supervisor } from "effect-supervisor"

class Doubler extends Supervisor.Tag<Doubler>()("test/Doubler", {
  workers: 2,
  handler: (n: number) => (n < 0 ? Effect.fail("negative" as const) : Effect.succeed(n * 2)),
  initial: 0,
  combine: (sum, doubled) => sum + doubled
}) {}

class Prefix extends Context.Tag("test/Prefix")<Prefix, string>() {}

class Greeter extends Supervisor.Tag<Greeter>()("test/Greeter", {
  workers: 1,
  handler: (name: string) => Effect.map(Prefix, (prefix) => `${prefix} ${name}`)
}) {}

describe("Supervisor.Tag", () => {
  it("infers the service and layer types from the options", () => {
    expectTypeOf<Context.Tag.Service<Doubler>>().toEqualTypeOf<
      Supervisor.Supervisor<number, number, "negative", number>
    >()
    expectTypeOf(Doubler.Default).toEqualTypeOf<Layer.Layer<Doubler, Errors.InvalidOptions, never>>()
    // what the handler requires, the layer requires
    expectTypeOf(Greeter.Default).toEqualTypeOf<Layer.Layer<Greeter, Errors.InvalidOptions, Prefix>>()
    expect(Doubler.key).toBe("test/Doubler")
  })

  it.effect("Default provides a running supervisor under the declared class", () =>
    Effect.gen(function*() {
      const doubler = yield* Doubler
      expect(yield* doubler.execute(21)).toBe(42)
      expect(yield* Effect.flip(doubler.execute(-1))).toBe("negative")
      yield* doubler.submitAll([1, 2])
      yield* doubler.awaitIdle
      expect(yield* doubler.state).toBe(42 + 2 + 4)
      const greeter = yield* Greeter
      expect(yield* greeter.execute("Ada")).toBe("Hello Ada")
    }).pipe(
      Effect.provide(
        Layer.mergeAll(Doubler.Default, Greeter.Default.pipe(Layer.provide(Layer.succeed(Prefix, "Hello"))))
      )
    ))

  it.effect("releasing the layer stops the supervisor like shutdownNow: in-flight tasks are interrupted", () =>
    Effect.gen(function*() {
      const finalized: Array<string> = []
      class Sleeper extends Supervisor.Tag<Sleeper>()("test/Sleeper", {
        workers: 1,
        handler: (task: string) => Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => finalized.push(task))))
      }) {}
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(Sleeper.Default, scope)
      const sleeper = Context.get(context, Sleeper)
      yield* sleeper.submitAll(["running", "queued"])
      yield* Effect.yieldNow()
      yield* Scope.close(scope, Exit.void)
      expect(finalized).toEqual(["running"])
      expect(yield* Effect.flip(sleeper.submit("late"))).toBeInstanceOf(Errors.SupervisorClosed)
    }))

  it.effect("invalid options fail the layer with InvalidOptions", () =>
    Effect.gen(function*() {
      class Broken extends Supervisor.Tag<Broken>()("test/Broken", { workers: 1.5, handler: Effect.succeed }) {}
      const error = yield* Effect.flip(Effect.provide(Broken, Broken.Default))
      expect(error).toEqual(new Errors.InvalidOptions({ message: "workers must be an integer >= 1, got 1.5" }))
    }))

  it.effect("another layer for the same tag swaps the configuration", () =>
    Effect.gen(function*() {
      const doubler = yield* Doubler
      expect(yield* doubler.execute(5)).toBe(-5)
    }).pipe(Effect.provide(Supervisor.layer(Doubler, { workers: 1, handler: (n: number) => Effect.succeed(-n) }))))
})

describe("Supervisor.validate", () => {
  it.effect("returns the very options it was given when they are valid", () =>
    Effect.gen(function*() {
      const options = { workers: 3, handler: (n: number) => Effect.succeed(n), capacity: Infinity }
      const checked = yield* Supervisor.validate(options)
      expect(checked).toBe(options)
      expectTypeOf(checked).toEqualTypeOf(options)
    }))

  it.effect("fails with the same message make gives, for typed and unknown input", () =>
    Effect.gen(function*() {
      const bad = { workers: 2, handler: Effect.succeed, timeout: "soon" }
      const fromValidate = yield* Effect.flip(Supervisor.validate(bad))
      const fromMake = yield* Effect.flip(
        Effect.scoped(Supervisor.make(bad as unknown as Supervisor.Options<number, number>))
      )
      expect(fromValidate).toEqual(fromMake)
      expect(fromValidate.message).toBe(
        "timeout must be a Duration input (e.g. \"1 second\" or millis >= 0), got \"soon\""
      )
      const parsed: unknown = JSON.parse("42")
      expect((yield* Effect.flip(Supervisor.validate(parsed))).message).toBe("options must be an object, got 42")
    }))
})
