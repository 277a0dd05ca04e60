using Npgsql;

namespace AffiliateTracker.Console.Admin;

public sealed class ReportsModel(NpgsqlDataSource db, TimeProvider time) : Shared.ReportPage(db, time);
