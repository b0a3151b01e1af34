import Foundation
import MillwrightCore
import Testing

@Suite("Units")
struct UnitCatalogueTests {
    let units = UnitCatalogue.standard

    @Test func everyFactorIsAPositiveNumber() {
        for unit in units.units.values {
            #expect(!unit.factorToBase.isNaN && unit.factorToBase > 0, "\(unit.code)")
        }
    }

    @Test func coversEveryDimensionAndTheCatalogueUnits() {
        #expect(Set(units.units.values.map(\.dimension)) == Set(Dimension.allCases))
        for code in ["H87", "DZN", "KGM", "GRM", "TNE", "LBR", "ONZ", "LTR", "MLT", "MTR", "CMT", "MMT", "INH", "FOT", "MTK", "HUR", "MIN", "DAY"] {
            #expect(units.contains(code), "EVENTS.md names \(code)")
        }
    }

    @Test(arguments: [
        ("2", "DZN", "H87", "24"),
        ("1.5", "KGM", "GRM", "1500"),
        ("1", "LBR", "KGM", "0.45359237"),
        ("250", "MLT", "LTR", "0.25"),
        ("90", "MIN", "HUR", "1.5"),
        ("1", "FOT", "INH", "12"),
        ("3", "TNE", "KGM", "3000"),
    ])
    func converts(_ quantity: String, _ from: String, _ to: String, _ expected: String) throws {
        let q = try #require(Decimal(string: quantity, locale: Locale(identifier: "en_US_POSIX")))
        let e = try #require(Decimal(string: expected, locale: Locale(identifier: "en_US_POSIX")))
        #expect(try units.convert(q, from: UnitCode(from), to: UnitCode(to)) == e)
    }

    @Test func acrossDimensionsIsAPermanentError() {
        do {
            _ = try units.convert(5, from: UnitCode("KGM"), to: UnitCode("H87"))
            Issue.record("converted kilograms to pieces")
        } catch {
            #expect(error.code == .dimensionMismatch)
            #expect(error.message.contains("kilogram") && error.message.contains("piece"))
        }
    }

    @Test func unknownUnitIsAnError() {
        #expect(throws: UnitConversionError.self) { try units.convert(1, from: UnitCode("STK"), to: UnitCode("H87")) }
    }
}
