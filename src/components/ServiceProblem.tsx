import { TranslationBundle } from '@jupyterlab/translation';

import { LakeService } from '../models/connection';

/** How the panel names a service of the data lake. */
export function serviceName(
  service: LakeService,
  trans: TranslationBundle
): string {
  switch (service) {
    case 'rucio':
      return trans.__('Rucio');
    case 'database':
      return trans.__("Rucio's database");
    case 'token-issuer':
      return trans.__('The token issuer');
    case 'hub':
      return trans.__('JupyterHub');
    case 'token-source':
      return trans.__('The service giving your token');
  }
}

/** "<service> is not answering": the headline of a service that is down. */
export function serviceDown(
  service: LakeService,
  trans: TranslationBundle
): string {
  return trans.__('%1 is not answering', serviceName(service, trans));
}

/** What the user can do while a service is down. */
export function serviceAdvice(
  service: LakeService,
  trans: TranslationBundle
): string {
  switch (service) {
    case 'rucio':
      return trans.__(
        "Nothing is wrong with your sign-in or your request: searches and transfers fail until Rucio answers again, and the panel checks again by itself. If it lasts, tell the data lake's operators."
      );
    case 'database':
      return trans.__(
        "Nothing is wrong with your sign-in or your request: Rucio can neither find nor change data until the data lake's operators bring its database back. Try again later."
      );
    case 'token-issuer':
      return trans.__(
        "Signing in again does not help: your sign-in cannot be checked or renewed until the token issuer answers. Try again once it does; if it lasts, tell the data lake's operators."
      );
    case 'hub':
      return trans.__(
        "Your token comes from JupyterHub, which is not answering. Try again in a moment; if it lasts, tell the hub's administrators."
      );
    case 'token-source':
      return trans.__(
        'Your token cannot be read right now. Try again in a moment; if it lasts, tell your administrators.'
      );
  }
}
