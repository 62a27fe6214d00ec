/**
 * A consumer process for the durable tests: prints `start <id> <attempt>` when a job starts,
 * `done <id>` when its handler ends (before the acknowledgement is written) and
 * `interrupted <id>` when its handler is interrupted. Effect's logs go to stderr.
 *
 * argv: <sqlite|pg> <file or table> <workers> <prefetch|auto> <lease ms> <job ms> [scripted <maxAttempts> <retry ms>]
 *
 * Without `scripted` it consumes `CrashJobs` (each job sleeps <job ms>); with it, `Scripted`,
 * whose tasks say what the handler does.
 */
import { Effect, Layer, Logger, Schedule, Schema } from "effect"
import { Supervisor } from "effect-supervisor"
import { Durable } from "effect-supervisor/durable"
import { pgUrl } from "./backends.js"

const [backend, where, workers, prefetch, lease, jobMillis, scenario, maxAttempts, retryMillis] = process.argv.slice(2)

export const CrashJobs = (leaseMillis: number) =>
  Durable.queue("crash", {
    task: Schema.Number,
    success: Schema.Void,
    failure: Schema.Never,
    maxAttempts: 5,
    lease: leaseMillis
  })

export class Refused extends Schema.TaggedError<Refused>()("Refused", { attempt: Schema.Number }) {}

/**
 * `ok`: sleeps <job ms> and succeeds; `die`: SIGKILLs its own process (a poison job);
 * `fail-once`: fails its first delivery with `Refused`, then succeeds; `hang`: never ends.
 */
export const Scripted = (leaseMillis: number, maxAttempts: number) =>
  Durable.queue("scripted", {
    task: Schema.Struct({ act: Schema.Literal("ok", "die", "fail-once", "hang"), n: Schema.Number }),
    success: Schema.String,
    failure: Refused,
    maxAttempts,
    lease: leaseMillis
  })

export type ScriptedTask = Schema.Schema.Type<ReturnType<typeof Scripted>["task"]>

const store = backend === "pg" ? Durable.layerPg({ url: pgUrl, table: where }) : Durable.layerSqlite({ file: where })

const write = (line: string) => Effect.sync(() => process.stdout.write(`${line}\n`))

const options = {
  workers: Number(workers),
  ...(prefetch === "auto" ? {} : { prefetch: Number(prefetch) }),
  timeout: "30 seconds"
} as const

const crash = () =>
  Supervisor.make({
    ...options,
    queue: CrashJobs(Number(lease)),
    handler: (_n, ctx) =>
      Effect.zipRight(
        write(`start ${ctx.id} ${ctx.attempt}`),
        Effect.zipRight(Effect.sleep(Number(jobMillis)), write(`done ${ctx.id}`))
      )
  })

const act = (task: ScriptedTask, attempt: number): Effect.Effect<string, Refused> => {
  switch (task.act) {
    case "ok":
      return Effect.as(Effect.sleep(Number(jobMillis)), `ok ${task.n}`)
    case "die":
      return Effect.sync(() => process.kill(process.pid, "SIGKILL")).pipe(Effect.zipRight(Effect.never))
    case "fail-once":
      return attempt === 1 ? Effect.fail(new Refused({ attempt })) : Effect.succeed(`ok after ${attempt}`)
    case "hang":
      return Effect.never
  }
}

const scripted = () =>
  Supervisor.make({
    ...options,
    queue: Scripted(Number(lease), Number(maxAttempts)),
    retry: Schedule.spaced(Number(retryMillis)),
    handler: (task, ctx) =>
      Effect.zipRight(
        write(`start ${ctx.id} ${ctx.attempt}`),
        Effect.tap(act(task, ctx.attempt), () => write(`done ${ctx.id}`)).pipe(
          Effect.onInterrupt(() => write(`interrupted ${ctx.id}`))
        )
      )
  })

const program = Effect.gen(function*() {
  yield* (scenario === "scripted" ? scripted() : crash())
  yield* write("ready")
  return yield* Effect.never
})

if (backend !== undefined) {
  Effect.runPromise(
    Effect.scoped(program).pipe(
      Effect.provide(Layer.orDie(store)),
      // stdout carries the events; a warning (a failed claim, renewal or acknowledgement) goes to stderr
      Effect.provide(Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.stringLogger)))
    )
  ).catch((error) => {
    process.stderr.write(`${String(error)}\n`)
    process.exit(1)
  })
}
