/**
 * The other seed program: tasks 1..10, 3 workers, each result is the payload doubled.
 * Workers don't print; the program prints each result from the supervisor's outcomes.
 *
 *   npx tsx examples/double.ts
 */
import { Console, Effect } from "effect"
import { Supervisor } from "effect-supervisor"

interface Task {
  readonly id: number
  readonly payload: number
}

const tasks: ReadonlyArray<Task> = Array.from({ length: 10 }, (_, i) => ({ id: i + 1, payload: (i + 1) * 10 }))

const program = Effect.scoped(
  Effect.gen(function*() {
    const supervisor = yield* Supervisor.make({
      workers: 3,
      handler: (task: Task) => Effect.succeed(task.payload * 2)
    })
    // `execute` awaits each task's own result; all ten run concurrently on the 3 workers
    const results = yield* Effect.forEach(
      tasks,
      (task) => Effect.map(supervisor.execute(task), (result) => ({ task, result })),
      { concurrency: "unbounded" }
    )
    for (const { result, task } of results) {
      yield* Console.log(`Task ${task.id}: payload ${task.payload} -> result ${result}`)
    }
    const summary = yield* supervisor.shutdown
    yield* Console.log(`${summary.stats.succeeded} of ${summary.stats.submitted} tasks succeeded`)
  })
)

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exitCode = 1
})
