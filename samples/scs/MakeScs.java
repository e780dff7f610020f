// Writes the SCS samples of this folder with IBM's own SCS writers (JTOpen, Debian package
// libjt400-java), and for each one the text a printer shows, page by page (`.expected.txt`),
// kept from the calls this program makes: an oracle that owes nothing to Greffier's SCS
// interpreter. Run through make-scs.sh; CI never runs it (the tests read the committed files).
//
// The oracle's rules: a call to write(text) puts the characters at the print position, one
// column each; absoluteHorizontalPosition(n) moves to column n, relativeHorizontalPosition(n)
// n columns right; absoluteVerticalPosition(n) to line n, relativeVerticalPosition(n) n lines
// down; newLine() to column 1 of the next line; lineFeed() down one line, same column;
// carriageReturn() to column 1, same line; endPage() ends the page. A character the code page
// lacks is written by JTOpen as SUB (0x3F) and shown as U+FFFD. Overprinted cells show the
// first non-blank, non-underscore character.
//
// Expected-file format (as ../../shared/samples/ibmi/scs/*.expected.txt): a `----- page N -----`
// line, then one line per row from row 1 to the page's last non-blank row, columns 1-based
// from the first character position (left margins are geometry, not text).
//
// Without options (`java MakeScs [DIR]`) it writes the committed samples into DIR. With options
// it writes one invoice print run of any size, same layout as run-50-invoices-1147, for the
// bench (tests/bench.sh), streaming to the files:
//
//   java MakeScs --run 2000 --out RUN.scs [--clients clients.csv] [--client-count 8]
//   java MakeScs --pages 10000 --out SPOOL.scs       (as many invoices as fill exactly 10,000
//                                                      pages; the last one may be cut short)
//
// beside RUN.scs: RUN.expected.txt (the oracle) and RUN.manifest.json (one entry per invoice);
// --clients writes a `CODE;RAISON_SOCIALE;SIRET;VILLE` CSV of the client codes the run uses
// (CL004711 upwards, invoice i going to client (i - 1) mod --client-count).

import com.ibm.as400.access.CharConverter;
import com.ibm.as400.access.SCS3812Writer;
import com.ibm.as400.access.SCS5219Writer;
import com.ibm.as400.access.SCS5256Writer;

import java.io.BufferedOutputStream;
import java.io.BufferedWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeMap;

public class MakeScs {

    /** What the printed pages show, from the calls made. */
    static final class Oracle {
        private final CharConverter converter;
        /** Where the pages' text goes: a StringBuilder, or a file for the large runs. */
        private final Appendable expected;
        private final TreeMap<Integer, StringBuilder> rows = new TreeMap<>();
        int row = 1;
        int col = 1;
        int pages = 0;

        Oracle(int ccsid) throws IOException {
            this(ccsid, new StringBuilder());
        }

        Oracle(int ccsid, Appendable expected) throws IOException {
            this.expected = expected;
            try {
                converter = new CharConverter(ccsid);
            } catch (Exception e) {
                throw new IOException(e);
            }
        }

        void text(String text) {
            byte[] bytes = converter.stringToByteArray(text);
            if (bytes.length != text.length()) {
                throw new IllegalStateException("not single-byte: " + text);
            }
            for (int i = 0; i < text.length(); i++) {
                char ch = text.charAt(i);
                int b = bytes[i] & 0xff;
                if (b == 0x3f) {
                    ch = '\uFFFD';
                } else if (b == 0x41) {
                    ch = ' ';
                }
                put(ch);
            }
        }

        private void put(char ch) {
            StringBuilder line = rows.computeIfAbsent(row, r -> new StringBuilder());
            while (line.length() < col) {
                line.append('\0');
            }
            char under = line.charAt(col - 1);
            boolean fresh = under == '\0';
            boolean replaces = (under == ' ' || under == '_') && ch != ' ' && ch != '_';
            if (fresh || replaces) {
                line.setCharAt(col - 1, ch);
            }
            col++;
        }

        void endPage() throws IOException {
            pages++;
            expected.append("----- page ").append(Integer.toString(pages)).append(" -----\n");
            int last = 0;
            for (var entry : rows.entrySet()) {
                if (!clean(entry.getValue()).isEmpty()) {
                    last = entry.getKey();
                }
            }
            for (int r = 1; r <= last; r++) {
                StringBuilder line = rows.get(r);
                expected.append(line == null ? "" : clean(line)).append('\n');
            }
            rows.clear();
            row = 1;
            col = 1;
        }

        private static String clean(StringBuilder line) {
            return line.toString().replace('\0', ' ').stripTrailing();
        }

        String expected() {
            return expected + "\n";
        }
    }

    /** Forwards each call to the JTOpen writer and to the oracle. */
    static final class Out {
        final SCS5256Writer writer;
        final Oracle oracle;

        Out(SCS5256Writer writer, int ccsid) throws IOException {
            this(writer, new Oracle(ccsid));
        }

        Out(SCS5256Writer writer, Oracle oracle) {
            this.writer = writer;
            this.oracle = oracle;
        }

        Out text(String text) throws IOException {
            writer.write(text);
            oracle.text(text);
            return this;
        }

        /** Text at column `col` of the current line. */
        Out at(int col, String text) throws IOException {
            return ahpp(col).text(text);
        }

        /** Text right-aligned to end at column `end`. */
        Out right(int end, String text) throws IOException {
            return at(end - text.length() + 1, text);
        }

        Out newLine() throws IOException {
            writer.newLine();
            oracle.row++;
            oracle.col = 1;
            return this;
        }

        Out newLines(int count) throws IOException {
            for (int i = 0; i < count; i++) {
                newLine();
            }
            return this;
        }

        Out lineFeed() throws IOException {
            writer.lineFeed();
            oracle.row++;
            return this;
        }

        Out carriageReturn() throws IOException {
            writer.carriageReturn();
            oracle.col = 1;
            return this;
        }

        Out ahpp(int col) throws IOException {
            writer.absoluteHorizontalPosition(col);
            oracle.col = col;
            return this;
        }

        Out rhpp(int count) throws IOException {
            writer.relativeHorizontalPosition(count);
            oracle.col += count;
            return this;
        }

        Out avpp(int row) throws IOException {
            if (row <= oracle.row) {
                throw new IllegalStateException("AVPP upwards starts a page: not used here");
            }
            writer.absoluteVerticalPosition(row);
            oracle.row = row;
            return this;
        }

        Out rvpp(int count) throws IOException {
            writer.relativeVerticalPosition(count);
            oracle.row += count;
            return this;
        }

        Out bold(boolean on) throws IOException {
            ((SCS3812Writer) writer).setBold(on);
            return this;
        }

        Out underline(boolean on) throws IOException {
            ((SCS5219Writer) writer).setUnderline(on);
            return this;
        }

        void endPage() throws IOException {
            writer.endPage();
            oracle.endPage();
        }
    }

    static Path dir;

    static void save(String name, ByteArrayOutputStream bytes, Out out) throws IOException {
        out.writer.close();
        Files.write(dir.resolve(name + ".scs"), bytes.toByteArray());
        Files.writeString(dir.resolve(name + ".expected.txt"), out.oracle.expected(), StandardCharsets.UTF_8);
        System.out.printf("%-40s %7d bytes, %3d pages%n", name + ".scs", bytes.size(), out.oracle.pages);
    }

    /** 1234567 cents → "12 345,67" (French grouping with a plain space). */
    static String euros(long cents) {
        String units = Long.toString(cents / 100);
        StringBuilder grouped = new StringBuilder();
        for (int i = 0; i < units.length(); i++) {
            if (i > 0 && (units.length() - i) % 3 == 0) {
                grouped.append(' ');
            }
            grouped.append(units.charAt(i));
        }
        return grouped + "," + String.format("%02d", cents % 100);
    }

    static String pad(String text, int width) {
        return String.format("%-" + width + "s", text);
    }

    // ---- a. one print run of 50 invoices, CCSID 1147 ----------------------------------------

    static final String[] ITEMS = {
        "Crème brûlée (façon maison)", "Café moulu 250 g", "Thé vert Sencha", "Pâté de campagne",
        "Gâteau à l'orange", "Crêpes sucrées × 6", "Sirop d'érable 50 cl", "Pain d'épices",
        "Huile d'olive vierge extra", "Fromage affiné 18 mois", "Confiture de mûres",
        "Noix de coco râpée", "Chocolat noir 70 %", "Épices ras-el-hanout", "Bière blonde 5°",
        "Jus de pêche", "Moutarde à l'ancienne", "Rillettes du Mans", "Miel de châtaignier",
        "Sel de Guérande",
    };
    static final int ITEMS_PER_PAGE = 18;
    static final int FIRST_ITEM_ROW = 7;

    /** The committed sample: 50 invoices, 62 pages, clients CL004711 to CL004718. */
    static void invoices() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        StringBuilder manifest = new StringBuilder();
        Out out = invoiceRun(bytes, new StringBuilder(), manifest, 50, 0, 8);
        save("run-50-invoices-1147", bytes, out);
        Files.writeString(dir.resolve("run-50-invoices-1147.manifest.json"), manifest.toString(), StandardCharsets.UTF_8);
    }

    /**
     * Writes one print run of invoices with the SCS3812 writer to `bytes`, the oracle's pages
     * to `expected`, and the manifest (a JSON array) to `manifest`. `invoices` invoices, or,
     * when `pageLimit` is positive, as many as make exactly `pageLimit` pages (the last one
     * cut short if needed). Invoice i goes to client CL(004711 + (i - 1) mod clients).
     * Returns the writer, not closed.
     */
    static Out invoiceRun(OutputStream bytes, Appendable expected, Appendable manifest,
            int invoices, int pageLimit, int clients) throws IOException {
        SCS3812Writer writer = new SCS3812Writer(bytes, 1147);
        writer.setPaperSize(8.27, 11.69);
        writer.setCPI(10);
        writer.setLPI(6);
        writer.setLeftMargin(0.5);
        writer.setCodePage(1147, 697); // SCG: GCSGID 697, CPGID 1147
        writer.setFont(SCS3812Writer.FONT_COURIER_10);
        Out out = new Out(writer, new Oracle(1147, expected));
        manifest.append("[\n");
        for (int i = 1; pageLimit > 0 ? out.oracle.pages < pageLimit : i <= invoices; i++) {
            int pages = 1 + (i % 7 == 0 ? 1 : 0) + (i % 11 == 0 ? 1 : 0) + (i % 35 == 0 ? 1 : 0);
            if (pageLimit > 0) {
                pages = Math.min(pages, pageLimit - out.oracle.pages);
            }
            int items = (pages - 1) * ITEMS_PER_PAGE + 2 + i % 6;
            String number = String.format("FA-2026-%06d", i);
            String client = String.format("CL%06d", 4711 + (i - 1) % clients);
            String date = String.format("%02d/%02d/2026", 1 + (i * 3) % 28, 1 + (i / 5) % 12);
            int firstPage = out.oracle.pages + 1;
            long total = 0;
            int item = 0;
            for (int page = 1; page <= pages; page++) {
                out.text("ACME SARL").ahpp(46).bold(true).text("FACTURE").bold(false);
                out.newLines(2);
                out.text("N° facture : " + number).at(46, "Client : " + client).newLine();
                out.text("Date : " + date).at(46, "Page : " + page + "/" + pages).newLines(2);
                out.underline(true).text("Qté  Désignation").right(49, "P.U. €").right(62, "Montant €");
                out.underline(false).newLine();
                int last = page == pages ? items : page * ITEMS_PER_PAGE;
                for (; item < last; item++) {
                    int quantity = 1 + (i + item) % 9;
                    long price = 150 + (i * 37L + item * 53L) % 4000;
                    long amount = quantity * price;
                    total += amount;
                    out.right(3, Integer.toString(quantity))
                        .at(6, ITEMS[(i * 3 + item) % ITEMS.length])
                        .right(49, euros(price))
                        .right(62, euros(amount))
                        .newLine();
                }
                if (page < pages) {
                    out.newLine().ahpp(30).text("À reporter :").right(62, euros(total) + " €");
                } else {
                    long vat = Math.round(total * 0.2);
                    long ttc = total + vat;
                    out.newLine();
                    out.ahpp(30).text("Total HT  :" + String.format("%11s", euros(total)) + " €").newLine();
                    out.ahpp(30).text("TVA 20 %  :" + String.format("%11s", euros(vat)) + " €").newLine();
                    String line = "Total TTC :" + String.format("%11s", euros(ttc)) + " €";
                    // Bold by overprinting the same text, underlined by overprinting '_'.
                    out.ahpp(30).text(line).carriageReturn().ahpp(30).text(line);
                    out.carriageReturn().ahpp(30).text("_".repeat(line.length()));
                    manifest.append(i > 1 ? ",\n" : "").append(String.format(Locale.ROOT,
                        "  {\"invoice\": \"%s\", \"client\": \"%s\", \"date\": \"%s\", \"first_page\": %d, \"last_page\": %d, \"total\": \"%s\", \"total_cents\": %d}",
                        number, client, date, firstPage, firstPage + pages - 1, euros(ttc), ttc));
                }
                out.avpp(60).ahpp(1).text("ACME SARL - 12 rue des Lilas, 69003 Lyon - SIRET 123 456 789 00012");
                out.endPage();
            }
        }
        manifest.append("\n]\n");
        return out;
    }

    static final String[] TRADES = {"Boulangerie", "Épicerie fine", "Café-Brasserie", "Fromagerie",
        "Hôtel-Restaurant", "Crêperie", "Traiteur", "Pâtisserie"};
    static final String[] TOWNS = {"Lyon", "Saint-Étienne", "Besançon", "Mâcon", "Annecy",
        "Clermont-Ferrand", "Valence", "Chambéry"};

    /** `--run N | --pages N --out FILE.scs [--clients FILE] [--client-count K]`. */
    static void bigRun(String[] args) throws IOException {
        int invoices = 0;
        int pageLimit = 0;
        int clients = 8;
        Path scs = null;
        Path clientsCsv = null;
        for (int a = 0; a < args.length; a++) {
            if (a + 1 >= args.length) {
                throw new IllegalArgumentException(args[a] + " needs a value");
            }
            String value = args[++a];
            switch (args[a - 1]) {
                case "--run" -> invoices = Integer.parseInt(value);
                case "--pages" -> pageLimit = Integer.parseInt(value);
                case "--client-count" -> clients = Integer.parseInt(value);
                case "--out" -> scs = Paths.get(value);
                case "--clients" -> clientsCsv = Paths.get(value);
                default -> throw new IllegalArgumentException("unknown option " + args[a - 1]);
            }
        }
        if (scs == null || (invoices <= 0) == (pageLimit <= 0) || clients <= 0 || invoices > 999_999) {
            throw new IllegalArgumentException(
                "usage: MakeScs (--run INVOICES | --pages PAGES) --out FILE.scs [--clients FILE.csv] [--client-count K]");
        }
        String stem = scs.getFileName().toString().replaceFirst("\\.scs$", "");
        Path parent = scs.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path expectedPath = parent.resolve(stem + ".expected.txt");
        Path manifestPath = parent.resolve(stem + ".manifest.json");
        Out out;
        try (OutputStream bytes = new BufferedOutputStream(Files.newOutputStream(scs), 1 << 20);
             BufferedWriter expected = Files.newBufferedWriter(expectedPath, StandardCharsets.UTF_8);
             BufferedWriter manifest = Files.newBufferedWriter(manifestPath, StandardCharsets.UTF_8)) {
            out = invoiceRun(bytes, expected, manifest, invoices, pageLimit, clients);
            out.writer.close();
            expected.append('\n');
        }
        int count = invoices > 0 ? invoices : 0;
        if (clientsCsv != null) {
            StringBuilder csv = new StringBuilder("CODE;RAISON_SOCIALE;SIRET;VILLE\n");
            for (int c = 0; c < clients; c++) {
                csv.append(String.format(Locale.ROOT, "CL%06d;%s %s SARL;%014d;%s\n", 4711 + c,
                    TRADES[c % TRADES.length], "Client " + (4711 + c), 38291745800012L + c * 1009L,
                    TOWNS[(c / TRADES.length) % TOWNS.length]));
            }
            Files.writeString(clientsCsv, csv.toString(), StandardCharsets.UTF_8);
        }
        System.out.printf("%s: %d bytes, %d pages%s; %s, %s%s%n", scs, Files.size(scs), out.oracle.pages,
            count > 0 ? ", " + count + " invoices" : "", expectedPath.getFileName(), manifestPath.getFileName(),
            clientsCsv == null ? "" : ", " + clientsCsv + " (" + clients + " clients)");
    }

    // ---- b. a statement at 12 cpi / 8 lpi, CCSID 1140, letter paper ----------------------------

    static void statement() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        SCS3812Writer writer = new SCS3812Writer(bytes, 1140);
        writer.setPaperSize(8.5, 11);
        writer.setCPI(12);
        writer.setLPI(8);
        writer.setLeftMargin(0.4);
        writer.setCodePage(1140, 697);
        writer.setFont(SCS3812Writer.FONT_COURIER_12);
        Out out = new Out(writer, 1140);
        long balance = 1_000_000;
        int line = 0;
        String[] labels = {"Card payment Café de la Gare", "Transfer to savings", "Salary ACME SARL",
            "Direct debit Électricité", "Cash withdrawal", "Card payment Librairie Pêle-Mêle"};
        for (int page = 1; page <= 2; page++) {
            out.bold(true).text("ACME BANK - ACCOUNT STATEMENT").bold(false).right(90, "Page " + page + " of 2");
            out.newLine().text("Account FR76 3000 4000 0500 0012 3456 789").right(90, "Currency: EUR (€)");
            out.newLines(2).underline(true).text("Date        Description").right(72, "Amount €").right(90, "Balance €");
            out.underline(false).newLine();
            // 70 lines at 8 lpi: rows 5 to 74 of an 88-line page.
            for (int row = 0; row < 70; row++, line++) {
                long amount = ((line * 7919L) % 50000) - 25000;
                balance += amount;
                String date = String.format("%02d/%02d/2026", 1 + line % 28, 1 + line / 28 % 12);
                out.text(date).at(13, labels[line % labels.length] + " #" + line)
                    .right(72, (amount < 0 ? "-" : "") + euros(Math.abs(amount)))
                    .right(90, euros(balance))
                    .newLine();
            }
            out.avpp(84).ahpp(1).text("ACME BANK - 1 place de la Bourse, 75002 Paris - statement of 31/12/2026");
            out.endPage();
        }
        save("statement-12cpi-8lpi-1140", bytes, out);
    }

    // ---- c. a stock listing positioned field by field (AHPP/RHPP/RVPP/LF), CCSID 297 ----------

    static void stockListing() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        SCS3812Writer writer = new SCS3812Writer(bytes, 297);
        writer.setPaperSize(8.27, 11.69);
        writer.setCPI(10);
        writer.setLPI(6);
        writer.setLeftMargin(0.25);
        writer.setCodePage(297, 697);
        writer.setFont(SCS3812Writer.FONT_COURIER_10);
        Out out = new Out(writer, 297);
        String[] depots = {"Lyon", "Saint-Étienne", "Besançon"};
        String[] articles = {"Crêpière électrique", "Bouilloire inox 1,7 l", "Cafetière à piston",
            "Théière en fonte", "Râpe à fromage", "Moule à cannelés", "Fouet à œufs", "Casserole cuivre"};
        for (int page = 1; page <= 2; page++) {
            out.ahpp(20).bold(true).text("ÉTAT DES STOCKS").bold(false).ahpp(60).text("Feuille " + page);
            out.rvpp(2).carriageReturn();
            for (int d = 0; d < depots.length; d++) {
                String depot = depots[(d + page) % depots.length];
                out.text("Dépôt : ").text(depot);
                // Underline the depot name by overprinting underscores.
                out.carriageReturn().ahpp(9).text("_".repeat(depot.length()));
                out.newLine().underline(true).ahpp(3).text("Réf.").ahpp(12).text("Article")
                    .ahpp(40).text("Qté").ahpp(48).text("Valeur").underline(false).newLine();
                for (int a = 0; a < 6; a++) {
                    int index = (a + d * 3 + page) % articles.length;
                    int quantity = (index * 17 + d * 5 + page) % 120;
                    out.ahpp(3).text(String.format("R%04d", index * 13 + d))
                        .rhpp(4).text(articles[index]) // RHPP: from column 8 to 12
                        .right(42, Integer.toString(quantity))
                        .right(58, euros(quantity * (990L + index * 250)))
                        .rhpp(1).text("€") // not in CCSID 297: SUB
                        .newLine();
                }
                // A line feed keeps the column: the remark starts under column 30.
                out.ahpp(30).text("Sous-total :").lineFeed().text("(hors TVA)").carriageReturn();
                out.rvpp(2);
            }
            out.endPage();
        }
        save("stock-ahpp-297", bytes, out);
    }

    // ---- d. a 198-column report from the 5256 writer (SHF/SVF), CCSID 37 ---------------------

    static void wideReport() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        SCS5256Writer writer = new SCS5256Writer(bytes, 37);
        writer.setHorizontalFormat(198);
        writer.setVerticalFormat(66);
        Out out = new Out(writer, 37);
        int record = 0;
        for (int page = 1; page <= 3; page++) {
            out.text("5770SS1 V7R5M0 220415").at(80, "Open items by customer - all companies")
                .right(198, "ACMEPROD   12/31/26 23:59:59 CET   Page " + String.format("%4d", page));
            out.newLines(2).text("Customer  Name").at(45, "Invoice").at(60, "Date")
                .right(90, "Amount").right(110, "Paid").right(130, "Open").at(140, "Due").at(155, "Sales rep")
                .right(198, "Status");
            out.newLine();
            int lines = page == 3 ? 17 : 55;
            for (int i = 0; i < lines; i++, record++) {
                long amount = 10_000 + (record * 7331L) % 900_000;
                long paid = record % 3 == 0 ? amount : (record % 3 == 1 ? 0 : amount / 2);
                out.text(String.format("CL%06d  Customer %d", 4700 + record % 40, record))
                    .at(45, String.format("IN%07d", 2026000 + record))
                    .at(60, String.format("%02d/%02d/26", 1 + record % 12, 1 + record % 28))
                    .right(90, String.format(Locale.ROOT, "%,.2f", amount / 100.0))
                    .right(110, String.format(Locale.ROOT, "%,.2f", paid / 100.0))
                    .right(130, String.format(Locale.ROOT, "%,.2f", (amount - paid) / 100.0))
                    .at(140, String.format("%02d/%02d/27", 1 + record % 12, 1 + record % 28))
                    .at(155, "REP" + (record % 9))
                    .right(198, paid == amount ? "CLOSED" : "OPEN")
                    .newLine();
            }
            out.endPage();
        }
        save("report-198col-5256-37", bytes, out);
    }

    public static void main(String[] args) throws IOException {
        if (args.length > 0 && args[0].startsWith("--")) {
            bigRun(args);
            return;
        }
        dir = Paths.get(args.length > 0 ? args[0] : ".");
        invoices();
        statement();
        stockListing();
        wideReport();
    }
}
