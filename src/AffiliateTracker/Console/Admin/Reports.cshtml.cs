using Npgsql;

namespace AffiliateTracker.Console.Admin;

public sealed class ReportsModel(AffiliateTracker.Storage.ReportDatabase db, TimeProvider time, Clicks.TrafficClassifier traffic) : Shared.ReportPage(db, time, traffic);
