// piscina and tinypool worker: both call the default export with the task and send back its result.
import { perform } from "./tasks.mjs"

export default ({ kind, x }) => perform(kind, x)
