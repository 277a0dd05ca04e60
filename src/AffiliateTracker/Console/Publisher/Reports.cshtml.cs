using Npgsql;

namespace AffiliateTracker.Console.Publisher;

public sealed class ReportsModel(NpgsqlDataSource db, TimeProvider time, Clicks.TrafficClassifier traffic) : Shared.ReportPage(db, time, traffic);
