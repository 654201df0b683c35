import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { RateCardDirectory } from '@tollgate/tenancy';

/**
 * Tenancy's port (an organization's rate_card_id must name a card), answered from this
 * module's table. Only an EntityManager is needed, so the composition root hands this class to
 * the tenancy module (TenancyModule.register) and tenancy never imports rate-cards.
 */
@Injectable()
export class MikroOrmRateCardDirectory extends RateCardDirectory {
  constructor(private readonly em: EntityManager) {
    super();
  }

  async exists(rateCardId: string): Promise<boolean> {
    const rows = await this.em.getConnection().execute<{ id: string }[]>('select id from rate_cards where id = ?', [rateCardId]);
    return rows.length > 0;
  }
}
