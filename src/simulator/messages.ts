/**
 * Trap texts for `/disk` and `/file` failures. None of these was captured from hardware (ROUTEROS.md 1.11, 2.8),
 * so they are configurable and must not be treated as facts by clients.
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
}

export const DEFAULT_MESSAGES: SimulatorMessages = {
  noSuchItem: 'no such item',
  notEnoughSpace: 'not enough space',
  slotExists: 'failure: disk with such slot already exists',
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
};
