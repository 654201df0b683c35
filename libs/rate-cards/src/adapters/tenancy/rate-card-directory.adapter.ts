import { Injectable } from '@nestjs/common';
import { RateCardDirectory } from '@tollgate/tenancy';
import { RateCardRepository } from '../../ports/rate-card.repository.port';

/** Tenancy's port, answered from this module's store (an organization's card must exist). */
@Injectable()
export class RateCardDirectoryAdapter extends RateCardDirectory {
  constructor(private readonly repository: RateCardRepository) {
    super();
  }

  exists(rateCardId: string): Promise<boolean> {
    return this.repository.cardExists(rateCardId);
  }
}
