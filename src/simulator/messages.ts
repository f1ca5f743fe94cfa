/**
 * Trap texts for `/disk` and `/file` failures, configurable because no `/disk` failure was ever captured from an RDS
 * (docs/ARCHITECTURE.md RouterOS §1.11, 2.8). Each text's source (marks of docs/ARCHITECTURE.md#routeros-facts: D
 * documented, C captured, I inferred, U guess):
 *
 * | key              | text                                              | source |
 * |------------------|---------------------------------------------------|--------|
 * | noSuchItem       | `no such item` (category 0)                       | C captures (docs/ARCHITECTURE.md RouterOS §1.11); category 0 = "missing item or command", D MikroTik API manual (!trap) |
 * | slotExists       | `failure: already have such name`                 | C RouterOS's duplicate text (`failure: already have such name`, node-routeros #26, /queue); the slot is the `/disk` item's name (docs/ARCHITECTURE.md RouterOS §2.2): I |
 * | missingArgument  | `missing value(s) of argument(s)` (category 1)    | U; category 1 = "argument value failure", D API manual |
 * | badFilePath, unsupportedType (category 1) | `failure: …`             | U text; category 1 D API manual |
 * | notEnoughSpace, fileInUseByDisk, fileNotFound, shrinkRefused, cannotChangePool, isDirectory, fileExists, diskBusy, cannotRemoveDiskRoot | | U (rds-csi mock wording or invented; `failure:` prefix as in C captures) |
 *
 * Texts the simulator sends outside this table are documented or captured: `no such command or directory (<word>)`
 * (category 0, C), `input does not match any value of <prop>` (category 1, D API manual), `unknown parameter <name>`
 * (C), `interrupted` (category 2, D), `invalid user name or password (6)` (C). The driver classifies traps by these
 * documented texts and categories (src/rds/trap-table.ts), never by the U texts here: an unknown text is a
 * permanent FAILED_PRECONDITION that quotes it.
 */
export interface SimulatorMessages {
  noSuchItem: string;
  notEnoughSpace: string;
  slotExists: string;
  fileInUseByDisk: string;
  fileNotFound: string;
  badFilePath: string;
  missingArgument: string;
  shrinkRefused: string;
  unsupportedType: string;
  cannotChangePool: string;
  isDirectory: string;
  /** `copy-from` onto an existing file, or an `add` of a path a copy in flight is writing. */
  fileExists: string;
  /** `/disk remove` of a disk that a `copy-from` copy in flight reads. */
  diskBusy: string;
  /** `/file remove` of the pool's disk root (the `type=disk` row). */
  cannotRemoveDiskRoot: string;
}

export const DEFAULT_MESSAGES: SimulatorMessages = {
  noSuchItem: 'no such item',
  notEnoughSpace: 'not enough space',
  slotExists: 'failure: already have such name',
  fileInUseByDisk: 'failure: file is in use by disk',
  fileNotFound: 'failure: file does not exist',
  badFilePath: 'failure: file path must be inside a mounted disk',
  missingArgument: 'missing value(s) of argument(s)',
  shrinkRefused: 'failure: file-size can not be decreased',
  unsupportedType: 'failure: only type=file disks are simulated',
  cannotChangePool: 'failure: can not change this disk',
  isDirectory: 'failure: file path is a directory',
  fileExists: 'failure: file already exists',
  diskBusy: 'failure: disk is busy',
  cannotRemoveDiskRoot: 'failure: can not remove a disk',
};
