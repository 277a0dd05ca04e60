using Npgsql;

namespace AffiliateTracker.Console.Admin;

public sealed class ReportsModel(NpgsqlDataSource db, TimeProvider time, Clicks.TrafficClassifier traffic) : Shared.ReportPage(db, time, traffic);
