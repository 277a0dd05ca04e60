using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Npgsql;

namespace AffiliateTracker.Console.Account;

/// Console sessions and form tokens are protected with ASP.NET's data-protection keys. Left alone, every instance
/// makes its own ring in memory, so behind a load balancer a session signed in on one instance is refused by the
/// next, and every deploy signs everyone out. The ring lives in PostgreSQL instead (table data_protection_keys),
/// encrypted with a key derived from Secrets:MasterKey, so a database backup alone cannot forge a session. Without
/// a master key (a development setup) the ring is stored in plain text, and the start says so.
public static class SharedKeyRing
{
    public static void AddSharedKeyRing(this IServiceCollection services, IConfiguration config)
    {
        services.AddDataProtection().SetApplicationName("AffiliateTracker");
        var master = Conversions.PostbackSigning.Parse(config["Secrets:MasterKey"]);
        services.AddOptions<KeyManagementOptions>().Configure<NpgsqlDataSource, ILoggerFactory>((o, db, logs) =>
        {
            o.XmlRepository = new PostgresXmlRepository(db);
            if (master is not null) o.XmlEncryptor = new MasterKeyXmlEncryptor(MasterKeyXmlDecryptor.KeyFrom(master));
            else logs.CreateLogger(typeof(SharedKeyRing)).LogWarning(
                "Secrets:MasterKey is not set: the console's session keys are stored in PostgreSQL unencrypted");
        });
        services.AddSingleton(new MasterKeyHolder(master));
    }

    private sealed class PostgresXmlRepository(NpgsqlDataSource db) : IXmlRepository
    {
        // The framework's interface is synchronous; it reads the ring at start and when a key is about to expire.
        public IReadOnlyCollection<XElement> GetAllElements()
        {
            using var cmd = db.CreateCommand("SELECT xml FROM data_protection_keys ORDER BY id");
            using var reader = cmd.ExecuteReader();
            var elements = new List<XElement>();
            while (reader.Read()) elements.Add(XElement.Parse(reader.GetString(0)));
            return elements;
        }

        public void StoreElement(XElement element, string friendlyName)
        {
            using var cmd = db.CreateCommand("INSERT INTO data_protection_keys (friendly_name, xml) VALUES ($1, $2)");
            cmd.Parameters.Add(new NpgsqlParameter { Value = friendlyName });
            cmd.Parameters.Add(new NpgsqlParameter { Value = element.ToString(SaveOptions.DisableFormatting) });
            cmd.ExecuteNonQuery();
        }
    }

    /// AES-GCM under a key derived from the master key; the decryptor finds the same key through MasterKeyHolder.
    private sealed class MasterKeyXmlEncryptor(byte[] key) : IXmlEncryptor
    {
        public EncryptedXmlInfo Encrypt(XElement plaintextElement)
        {
            var plain = Encoding.UTF8.GetBytes(plaintextElement.ToString(SaveOptions.DisableFormatting));
            var nonce = RandomNumberGenerator.GetBytes(12);
            var sealedBytes = new byte[plain.Length];
            var tag = new byte[16];
            using (var aes = new AesGcm(key, 16)) aes.Encrypt(nonce, plain, sealedBytes, tag);
            var element = new XElement("encryptedKey", new XAttribute("nonce", Convert.ToBase64String(nonce)),
                new XAttribute("tag", Convert.ToBase64String(tag)), Convert.ToBase64String(sealedBytes));
            return new EncryptedXmlInfo(element, typeof(MasterKeyXmlDecryptor));
        }
    }

    public sealed record MasterKeyHolder(byte[]? MasterKey);

    /// Made by the framework through its (IServiceProvider) constructor when it reads an encrypted key.
    public sealed class MasterKeyXmlDecryptor(IServiceProvider services) : IXmlDecryptor
    {
        public static byte[] KeyFrom(byte[] masterKey) =>
            HMACSHA256.HashData(masterKey, Encoding.UTF8.GetBytes("console-data-protection-keys"));

        public XElement Decrypt(XElement encryptedElement)
        {
            var master = services.GetRequiredService<MasterKeyHolder>().MasterKey
                ?? throw new InvalidOperationException("The console's key ring is encrypted with Secrets:MasterKey, which is not set");
            var nonce = Convert.FromBase64String((string)encryptedElement.Attribute("nonce")!);
            var tag = Convert.FromBase64String((string)encryptedElement.Attribute("tag")!);
            var sealedBytes = Convert.FromBase64String(encryptedElement.Value);
            var plain = new byte[sealedBytes.Length];
            using (var aes = new AesGcm(KeyFrom(master), 16)) aes.Decrypt(nonce, sealedBytes, tag, plain);
            return XElement.Parse(Encoding.UTF8.GetString(plain));
        }
    }
}
