using Npgsql;

namespace AffiliateTracker.Console.Publisher;

public sealed class ReportsModel(NpgsqlDataSource db, TimeProvider time) : Shared.ReportPage(db, time);
