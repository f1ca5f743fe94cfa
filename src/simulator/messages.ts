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
};
