using AffiliateTracker.Access;
using AffiliateTracker.Http;
using AffiliateTracker.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace AffiliateTracker.Console.Account;

/// `AffiliateTracker add-user EMAIL ROLE [OWNER_ID]`: the first admin of a new network (and any user without the
/// console). The password comes from AT_NEW_USER_PASSWORD or the first line of standard input, never from the
/// command line, where other users of the machine and the shell history would see it.
public static class AddUserCommand
{
    public static async Task<int> RunAsync(IConfiguration config, string[] args)
    {
        if (args.Length is < 3 or > 4)
        {
            System.Console.Error.WriteLine("usage: AffiliateTracker add-user EMAIL admin|advertiser|publisher [ADVERTISER_OR_PUBLISHER_ID]");
            System.Console.Error.WriteLine("       the password is read from AT_NEW_USER_PASSWORD, or else from the first line of standard input");
            return 2;
        }
        var cs = config.GetConnectionString("Postgres") ?? throw new InvalidOperationException("ConnectionStrings:Postgres is not set");
        var password = Environment.GetEnvironmentVariable("AT_NEW_USER_PASSWORD") is { Length: > 0 } fromEnv ? fromEnv : System.Console.In.ReadLine();
        try
        {
            var email = ConsoleUsers.ValidEmail(args[1]);
            var role = Validate.OneOf(args[2], "role", Roles.All);
            long? owner = args.Length == 4 && long.TryParse(args[3], out var id) && id > 0 ? id
                : role == Roles.Admin ? null : throw ApiException.Invalid("owner", "an advertiser or publisher user needs the advertiser's or publisher's id");
            ConsoleUsers.ValidPassword(password, email);
            await using var db = NpgsqlDataSource.Create(cs);
            await new MigrationRunner(db, NullLogger<MigrationRunner>.Instance).ApplyAsync();
            await using var conn = await db.OpenConnectionAsync();
            var userId = await ConsoleUsers.CreateAsync(conn, null, email, password!, role,
                role == Roles.Advertiser ? owner : null, role == Roles.Publisher ? owner : null);
            System.Console.WriteLine($"user {userId}: {email} ({role}) created");
            return 0;
        }
        catch (ApiException e)
        {
            System.Console.Error.WriteLine(e.Message);
            return 1;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            System.Console.Error.WriteLine("No such advertiser or publisher.");
            return 1;
        }
    }
}
