import type { ProviderEvent } from '../provider.ts';
import type { AwsEvent } from './provider.ts';

/**
 * Maps AWS's own events to the provider-neutral audit events: a candidate rejected for capacity or quota is a
 * fallback, an IP timeout or a failed cleanup is an error; a successful launch attempt is not news.
 */
export function toProviderEvent(event: AwsEvent): ProviderEvent | undefined {
  switch (event.event) {
    case 'aws.launch.attempt': {
      const { type, market, outcome, code } = event.attempt;
      if (outcome === 'launched') return undefined;
      const fallback = outcome === 'capacity' || outcome === 'quota' || outcome === 'spot-quota' || outcome === 'spot-role' || outcome === 'unsupported';
      return {
        type: fallback ? 'provider.fallback' : 'provider.error',
        message: `aws ${market} ${type}: ${outcome}${code ? ` (${code})` : ''}${fallback ? '; trying the next candidate' : ''}`,
        data: { provider: 'aws', leaseId: event.leaseId, type, market, outcome, code },
      };
    }
    case 'aws.launch.created':
      return undefined;
    case 'aws.ip.timeout':
      return { type: 'provider.error', message: `aws instance ${event.instanceId} got no address in time; ${event.cleanup}`, data: { provider: 'aws', leaseId: event.leaseId, instanceId: event.instanceId, cleanup: event.cleanup } };
    case 'aws.spot.role-missing':
      return {
        type: 'provider.error',
        message: `aws: Spot refused (AuthFailure.ServiceLinkedRoleCreationNotPermitted): the credentials may not create the Spot service-linked role; launching on-demand. Fix: ${event.hint}`,
        data: { provider: 'aws', leaseId: event.leaseId, code: 'AuthFailure.ServiceLinkedRoleCreationNotPermitted', missingPermission: 'iam:CreateServiceLinkedRole (spot.amazonaws.com)' },
      };
    case 'aws.cleanup.failed':
      return { type: 'provider.error', message: `aws cleanup failed: ${event.message}`, data: { provider: 'aws', leaseId: event.leaseId, instanceId: event.instanceId, op: 'cleanup' } };
  }
}
