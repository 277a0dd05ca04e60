using Npgsql;

namespace AffiliateTracker.Console.Publisher;

public sealed class ReportsModel(AffiliateTracker.Storage.ReportDatabase db, TimeProvider time, Clicks.TrafficClassifier traffic) : Shared.ReportPage(db, time, traffic);
