using AffiliateTracker.Reconciliation;
using Npgsql;

namespace AffiliateTracker.Console.Advertiser;

public sealed class ReconciliationsModel(NpgsqlDataSource db, ReconciliationService service) : Shared.ReconciliationPage(db, service)
{
    public override string Home => "/advertiser/reconciliations";
}
