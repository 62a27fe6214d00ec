/**
 * The `Scope` a handler sees: one per attempt, made only if the handler uses it.
 *
 * Why hand-written: a handler that calls `Effect.acquireRelease` must get its own scope, closed
 * when its attempt ends (not the worker's long-lived one, which would keep every task's
 * resource open until shutdown). `Effect.scoped` per attempt would allocate a scope and a new
 * context for every task although most handlers never touch `Scope`; this object is provided
 * once per worker incarnation and creates the real scope on first use, so an attempt that
 * never adds a finalizer costs one field read.
 *
 * A worker runs one task at a time, so one instance per worker is enough.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import type * as Exit from "effect/Exit"
import { pipeArguments } from "effect/Pipeable"
import * as Scope from "effect/Scope"

/** @internal */
export class AttemptScope implements Scope.Scope {
  readonly [Scope.ScopeTypeId]: Scope.ScopeTypeId = Scope.ScopeTypeId
  readonly strategy: ExecutionStrategy.ExecutionStrategy = ExecutionStrategy.sequential
  private inner: Scope.CloseableScope | undefined = undefined

  /** the current attempt added a finalizer (or forked a child scope) */
  get used(): boolean {
    return this.inner !== undefined
  }

  private readonly real: Effect.Effect<Scope.CloseableScope> = Effect.suspend(() =>
    this.inner !== undefined ? Effect.succeed(this.inner) : Effect.map(Scope.make(), (scope) => (this.inner = scope))
  )

  fork(strategy: ExecutionStrategy.ExecutionStrategy): Effect.Effect<Scope.CloseableScope> {
    return Effect.flatMap(this.real, (scope) => Scope.fork(scope, strategy))
  }

  addFinalizer(finalizer: Scope.Scope.Finalizer): Effect.Effect<void> {
    return Effect.flatMap(this.real, (scope) => Scope.addFinalizerExit(scope, finalizer))
  }

  /** Ends the current attempt: runs its finalizers (if it had any). */
  close(exit: Exit.Exit<unknown, unknown>): Effect.Effect<void> {
    const scope = this.inner
    if (scope === undefined) return Effect.void
    this.inner = undefined
    return Scope.close(scope, exit)
  }

  pipe() {
    // eslint-disable-next-line prefer-rest-params -- the Pipeable convention effect itself uses
    return pipeArguments(this, arguments)
  }
}
