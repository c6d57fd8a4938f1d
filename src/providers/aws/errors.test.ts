import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classifyEc2Error, toCrabboxError } from './errors.ts';

const sdkError = (name: string, status = 400): Error => Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode: status } });

describe('aws error classification', () => {
  it('classifies by code, not by message or status alone', () => {
    const cases: [string, number, string][] = [
      ['InsufficientInstanceCapacity', 500, 'capacity'],
      ['Unsupported', 400, 'unsupported'],
      ['AuthFailure.ServiceLinkedRoleCreationNotPermitted', 403, 'spot-role'],
      ['AuthFailure', 401, 'fatal'],
      ['SpotMaxPriceTooLow', 400, 'capacity'],
      ['VcpuLimitExceeded', 400, 'quota'],
      ['InstanceLimitExceeded', 400, 'quota'],
      ['MaxSpotInstanceCountExceeded', 400, 'spot-quota'],
      ['InvalidInstanceID.NotFound', 400, 'not-found'],
      ['InvalidKeyPair.NotFound', 400, 'not-found'],
      ['InvalidGroup.NotFound', 400, 'not-found'],
      ['InvalidKeyPair.Duplicate', 400, 'duplicate'],
      ['InvalidPermission.Duplicate', 400, 'duplicate'],
      ['IdempotentParameterMismatch', 400, 'idempotent-mismatch'],
      ['RequestLimitExceeded', 503, 'throttled'],
      ['InternalError', 500, 'transient'],
      ['SomethingNew', 502, 'transient'],
      ['InvalidParameterValue', 400, 'fatal'],
      ['UnauthorizedOperation', 403, 'fatal'],
    ];
    for (const [code, status, kind] of cases) assert.equal(classifyEc2Error(sdkError(code, status)), kind, code);
    assert.equal(classifyEc2Error(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })), 'transient');
  });

  it('maps capacity to provider_capacity and keeps the AWS code in one line', () => {
    const e = toCrabboxError('RunInstances', sdkError('InsufficientInstanceCapacity', 500));
    assert.equal(e.code, 'provider_capacity');
    assert.equal(e.message, 'EC2 RunInstances: InsufficientInstanceCapacity: InsufficientInstanceCapacity happened');
    assert.equal(e.detail?.awsError, 'InsufficientInstanceCapacity');
    assert.equal(toCrabboxError('DescribeInstances', sdkError('UnauthorizedOperation', 403)).code, 'provider_error');
  });
});
