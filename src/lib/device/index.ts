/** The board as an API: typed groups over one SMP client. */
export { Board, connectBoard } from './board';
export { OsGroup, type McumgrParams, type TaskStat, type MemoryPoolStat } from './os';
export { ImageGroup, type ImageSlot } from './image';
export { StatGroup, ShellGroup } from './stat';
export { COMMANDS, findCommand, type CommandSpec, type CommandKey } from './commands';
export { runCommand, map, type CallOptions } from './run';
