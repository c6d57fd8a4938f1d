import { describe, it, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeAws, type FakeAwsSetup } from './fake/harness.ts';
import { ON_DEMAND_USD_PER_HOUR } from './price.ts';

let setup: FakeAwsSetup | undefined;
afterEach(async () => {
  await setup?.stop();
  setup = undefined;
});

describe('aws prices', () => {
  it('uses the highest current Spot price across zones, cached for ten minutes', async () => {
    setup = await startFakeAws();
    assert.equal(await setup.provider.hourlyPrice('c7i.2xlarge'), Number((0.1411 * 1.1).toFixed(6)));
    await setup.provider.hourlyPrice('c7i.2xlarge');
    assert.equal(setup.fake.calls('DescribeSpotPriceHistory').length, 1);
    setup.clock.advance(11 * 60_000);
    await setup.provider.hourlyPrice('c7i.2xlarge');
    assert.equal(setup.fake.calls('DescribeSpotPriceHistory').length, 2);
  });

  it('falls back to the static table when the history is empty or failing, and uses it for on-demand', async () => {
    setup = await startFakeAws();
    assert.equal(await setup.provider.hourlyPrice('c7g.2xlarge'), ON_DEMAND_USD_PER_HOUR['c7g.2xlarge']);
    setup.fake.fail({ action: 'DescribeSpotPriceHistory', code: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation.' });
    assert.equal(await setup.provider.hourlyPrice('c7a.4xlarge'), ON_DEMAND_USD_PER_HOUR['c7a.4xlarge']);
    assert.equal(await setup.provider.hourlyPrice('x9z.mega'), undefined);
    await setup.stop();
    setup = await startFakeAws({ market: 'on-demand' });
    assert.equal(await setup.provider.hourlyPrice(), ON_DEMAND_USD_PER_HOUR['c7a.2xlarge']);
    assert.equal(setup.fake.calls('DescribeSpotPriceHistory').length, 0);
  });
});
