import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { RateCardDirectory } from '@tollgate/tenancy';
import { RateCardError } from '../../domain/rate-card.error';

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

  async requireCard(rateCardId: string): Promise<void> {
    const rows = await this.em.getConnection().execute<{ id: string }[]>('select id from rate_cards where id = ?', [rateCardId]);
    if (rows.length === 0) throw RateCardError.unknownCard(rateCardId, 'rate_card_id');
  }
}
