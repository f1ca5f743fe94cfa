import { backendOfId, placedId, splitId } from '../../src/domain/backend-id';

/** The backend carried by a CSI id (issue 16 item 2): the primary's ids are bare slots, as before. */
describe('backend in the volume id', () => {
  it.each([
    ['pvc-0b6a3c1e-7d2f-4a59-9e1c-2b8d4f6a0c13', undefined, 'pvc-0b6a3c1e-7d2f-4a59-9e1c-2b8d4f6a0c13'],
    ['vol-data-0123456789ab', 'default', 'vol-data-0123456789ab'],
    ['vol-data-0123456789ab', 'rds-b', 'vol-data-0123456789ab@rds-b'],
    ['snap-x-0123456789ab', 'Rack_2.b', 'snap-x-0123456789ab@Rack_2.b'],
  ])('%s on %s is %s, and splits back', (slot, backend, id) => {
    expect(placedId(slot, backend, 'default')).toBe(id);
    expect(splitId(id)).toEqual(backend === undefined || backend === 'default' ? { slot } : { slot, backend });
    expect(backendOfId(id, 'default')).toBe(backend ?? 'default');
  });

  it.each([['vol-a@'], ['@rds-b'], ['vol-a@rds b'], ['vol-a@-b'], ['vol-a@b@c'], [`vol-a@${'b'.repeat(64)}`]])(
    '%s is not an id of this driver',
    (id) => {
      expect(splitId(id)).toBeUndefined();
      expect(backendOfId(id, 'default')).toBeUndefined();
    },
  );
});
